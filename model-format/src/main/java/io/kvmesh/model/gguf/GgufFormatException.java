package io.kvmesh.model.gguf;

/** A file that is not a valid GGUF file (or uses something this reader does not support), naming where and what. */
public final class GgufFormatException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final long offset;
    private final String field;

    public GgufFormatException(long offset, String field, String problem) {
        super("GGUF " + (field == null ? "" : field + " ") + "at byte offset " + offset + ": " + problem, null, false, false);
        this.offset = offset;
        this.field = field;
    }

    /** Byte offset in the file where the problem was found. */
    public long offset() {
        return offset;
    }

    /** The metadata key or tensor the problem concerns, or null for the file's structure. */
    public String field() {
        return field;
    }
}
