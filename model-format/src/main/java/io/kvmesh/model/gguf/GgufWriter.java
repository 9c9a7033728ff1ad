package io.kvmesh.model.gguf;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes GGUF version 3: metadata (every value type {@link GgufFile} reads), the tensor directory, then each tensor's
 * bytes at the next multiple of the alignment (32 unless {@code general.alignment} says otherwise).
 */
public final class GgufWriter {

    /** A tensor to write: ggml dims (innermost first), type, and its bytes in that type's layout. */
    public record Tensor(String name, long[] dims, GgmlType type, byte[] data) {

        public Tensor {
            long elements = 1;
            for (long dim : dims) {
                elements *= dim;
            }
            if (type.bytesFor(elements) != data.length) {
                throw new IllegalArgumentException(name + ": " + elements + " " + type + " elements take "
                        + type.bytesFor(elements) + " bytes, got " + data.length);
            }
        }
    }

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();

    public GgufWriter put(String key, GgufValue value) {
        metadata.put(key, value);
        return this;
    }

    public GgufWriter add(Tensor tensor) {
        tensors.add(tensor);
        return this;
    }

    public void write(Path file) throws IOException {
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            write(out);
        }
    }

    public void write(OutputStream out) throws IOException {
        int alignment = metadata.containsKey("general.alignment")
                ? (int) (long) (Long) metadata.get("general.alignment").value() : GgufFile.DEFAULT_ALIGNMENT;
        Sink sink = new Sink(out);
        sink.i32(GgufFile.MAGIC);
        sink.i32(3);
        sink.i64(tensors.size());
        sink.i64(metadata.size());
        for (var entry : metadata.entrySet()) {
            sink.string(entry.getKey());
            sink.i32(entry.getValue().type().ordinal());
            value(sink, entry.getValue());
        }
        long offset = 0;
        for (Tensor tensor : tensors) {
            sink.string(tensor.name());
            sink.i32(tensor.dims().length);
            for (long dim : tensor.dims()) {
                sink.i64(dim);
            }
            sink.i32(tensor.type().id());
            sink.i64(offset);
            offset = GgufFile.align(offset + tensor.data().length, alignment);
        }
        sink.pad(alignment);
        long start = sink.written;
        for (Tensor tensor : tensors) {
            sink.bytes(tensor.data());
            sink.pad(alignment, start);
        }
        out.flush();
    }

    private static void value(Sink sink, GgufValue value) throws IOException {
        if (value.type() == GgufValueType.ARRAY) {
            array(sink, value.elementType(), value.value());
        } else {
            scalar(sink, value.type(), value.value());
        }
    }

    private static void array(Sink sink, GgufValueType element, Object values) throws IOException {
        sink.i32(element.ordinal());
        switch (values) {
            case String[] strings -> {
                sink.i64(strings.length);
                for (String s : strings) {
                    sink.string(s);
                }
            }
            case float[] floats -> {
                sink.i64(floats.length);
                for (float f : floats) {
                    scalar(sink, element, element == GgufValueType.FLOAT64 ? (Object) (double) f : (Object) f);
                }
            }
            case double[] doubles -> {
                sink.i64(doubles.length);
                for (double d : doubles) {
                    scalar(sink, element, d);
                }
            }
            case long[] longs -> {
                sink.i64(longs.length);
                for (long l : longs) {
                    scalar(sink, element, l);
                }
            }
            case boolean[] booleans -> {
                sink.i64(booleans.length);
                for (boolean b : booleans) {
                    scalar(sink, element, b);
                }
            }
            case GgufValue[] nested -> {
                sink.i64(nested.length);
                for (GgufValue v : nested) {
                    array(sink, v.elementType(), v.value());
                }
            }
            default -> throw new IllegalArgumentException("unsupported array value " + values.getClass());
        }
    }

    private static void scalar(Sink sink, GgufValueType type, Object value) throws IOException {
        switch (type) {
            case UINT8, INT8 -> sink.bytes(new byte[] {(byte) (long) (Long) value});
            case UINT16, INT16 -> sink.i16((short) (long) (Long) value);
            case UINT32, INT32 -> sink.i32((int) (long) (Long) value);
            case UINT64, INT64 -> sink.i64((Long) value);
            case FLOAT32 -> sink.i32(Float.floatToRawIntBits((Float) value));
            case FLOAT64 -> sink.i64(Double.doubleToRawLongBits((Double) value));
            case BOOL -> sink.bytes(new byte[] {(byte) ((Boolean) value ? 1 : 0)});
            case STRING -> sink.string((String) value);
            case ARRAY -> throw new IllegalArgumentException("an array is not a scalar");
        }
    }

    /** Little-endian output that counts what it wrote (for alignment). */
    private static final class Sink {
        private final OutputStream out;
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        long written;

        Sink(OutputStream out) {
            this.out = out;
        }

        void i16(short value) throws IOException {
            scratch.clear();
            scratch.putShort(value);
            out.write(scratch.array(), 0, 2);
            written += 2;
        }

        void i32(int value) throws IOException {
            scratch.clear();
            scratch.putInt(value);
            out.write(scratch.array(), 0, 4);
            written += 4;
        }

        void i64(long value) throws IOException {
            scratch.clear();
            scratch.putLong(value);
            out.write(scratch.array(), 0, 8);
            written += 8;
        }

        void string(String value) throws IOException {
            byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
            i64(utf8.length);
            bytes(utf8);
        }

        void bytes(byte[] data) throws IOException {
            out.write(data);
            written += data.length;
        }

        void pad(int alignment) throws IOException {
            pad(alignment, 0);
        }

        void pad(int alignment, long origin) throws IOException {
            long relative = written - origin;
            int padding = (int) (GgufFile.align(relative, alignment) - relative);
            bytes(new byte[padding]);
        }
    }
}
