package io.kvmesh.model.gguf;

/**
 * A tensor's header entry: name, dimensions (innermost first, as ggml orders them), type, and where its data starts
 * relative to the data section; {@code fileOffset} is that position in the file.
 */
public record GgufTensorInfo(String name, long[] dims, GgmlType type, long relativeOffset, long fileOffset, long byteSize) {

    public long elements() {
        long count = 1;
        for (long dim : dims) {
            count *= dim;
        }
        return count;
    }
}
