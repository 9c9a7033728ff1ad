package io.kvmesh.runtime.engine;

/** Why a request stopped, in OpenAI's words. */
public enum FinishReason {
    STOP("stop"),
    LENGTH("length"),
    ABORT("abort");

    private final String openAiName;

    FinishReason(String openAiName) {
        this.openAiName = openAiName;
    }

    public String openAiName() {
        return openAiName;
    }
}
