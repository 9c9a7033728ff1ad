package io.kvmesh.prefix.events;

/** Input that is not a valid KV event batch or pod status; {@link #field()} names where it went wrong. */
public final class MalformedEventException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final String field;

    public MalformedEventException(String field, String problem) {
        super(field + ": " + problem);
        this.field = field;
    }

    /** Path of the offending field, e.g. {@code events[2].blockHashes[0]}; {@code $} for the whole document. */
    public String field() {
        return field;
    }
}
