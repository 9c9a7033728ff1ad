package io.kvmesh.runtime.engine;

import java.util.Objects;

/**
 * What the engine serves: prompt token ids, how many tokens to generate at most, how to sample, where the output goes,
 * the request's cache salt (a tenant's: blocks are shared only between requests with equal salts; empty for none),
 * its session (null for none) and, when its turn ends in a tool or API call, the tool's name (null for none): such a
 * turn finishes with {@link FinishReason#TOOL_CALLS} and, with a session, pauses until the session's next turn.
 */
public record GenerationRequest(String id, int[] promptTokens, int maxTokens, SamplingParams sampling, TokenSink sink,
                                String cacheSalt, String session, String toolCall) {

    /** A request outside any session. */
    public GenerationRequest(String id, int[] promptTokens, int maxTokens, SamplingParams sampling, TokenSink sink,
                             String cacheSalt) {
        this(id, promptTokens, maxTokens, sampling, sink, cacheSalt, null, null);
    }

    /** A greedy request. */
    public GenerationRequest(String id, int[] promptTokens, int maxTokens, TokenSink sink) {
        this(id, promptTokens, maxTokens, SamplingParams.GREEDY, sink);
    }

    /** A request without a cache salt of its own (it shares blocks with every other such request). */
    public GenerationRequest(String id, int[] promptTokens, int maxTokens, SamplingParams sampling, TokenSink sink) {
        this(id, promptTokens, maxTokens, sampling, sink, "");
    }

    public GenerationRequest {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(sink, "sink");
        Objects.requireNonNull(sampling, "sampling");
        Objects.requireNonNull(cacheSalt, "cacheSalt");
        if (promptTokens.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be at least 1, got " + maxTokens);
        }
        promptTokens = promptTokens.clone();
    }
}
