package io.kvmesh.runtime.engine;

/** Why a request stopped, in OpenAI's words. */
public enum FinishReason {
    STOP("stop"),
    LENGTH("length"),
    ABORT("abort"),
    /** The turn ended in a tool or API call; with a session, its KV waits for the next turn (paused). */
    TOOL_CALLS("tool_calls");

    private final String openAiName;

    FinishReason(String openAiName) {
        this.openAiName = openAiName;
    }

    public String openAiName() {
        return openAiName;
    }
}
