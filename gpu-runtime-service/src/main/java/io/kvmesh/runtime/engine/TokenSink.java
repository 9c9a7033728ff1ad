package io.kvmesh.runtime.engine;

/** Receives one request's output on the engine thread; implementations must not block. */
public interface TokenSink {

    /** The request was first admitted; {@code cachedPromptTokens} of its prompt came from the prefix cache. */
    default void onStart(int cachedPromptTokens) {
    }

    void onToken(int tokenId);

    /**
     * The tool the output so far calls, if the sink recognises a tool call in it (a chat with {@code tools} whose
     * answer is a call); asked when the request ends, so such a turn pauses like one that declared its call.
     */
    default String calledTool() {
        return null;
    }

    /** The request ended; {@code cachedPromptTokens} were served from the prefix cache. */
    void onFinish(FinishReason reason, int promptTokens, int completionTokens, int cachedPromptTokens);
}
