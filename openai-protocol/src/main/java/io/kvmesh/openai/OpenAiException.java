package io.kvmesh.openai;

/** A request the API refuses, carrying the {@link OpenAiError} to answer with. */
public final class OpenAiException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final transient OpenAiError error;

    public OpenAiException(OpenAiError error) {
        super(error.message(), null, false, false);
        this.error = error;
    }

    public OpenAiError error() {
        return error;
    }
}
