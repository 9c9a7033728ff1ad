package io.kvmesh.runtime.engine;

import java.util.Objects;

/** What the engine serves: prompt token ids, how many tokens to generate at most, where the output goes. */
public record GenerationRequest(String id, int[] promptTokens, int maxTokens, TokenSink sink) {

    public GenerationRequest {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(sink, "sink");
        if (promptTokens.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be at least 1, got " + maxTokens);
        }
        promptTokens = promptTokens.clone();
    }
}
