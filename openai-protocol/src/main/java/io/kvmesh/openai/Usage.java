package io.kvmesh.openai;

/** Token counts of one request; {@code cachedTokens} are prompt tokens served from the prefix cache. */
public record Usage(int promptTokens, int completionTokens, int cachedTokens) {
}
