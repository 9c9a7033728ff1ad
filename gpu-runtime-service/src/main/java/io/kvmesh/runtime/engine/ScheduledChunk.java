package io.kvmesh.runtime.engine;

/** Part of one iteration: compute the KV of the next {@code tokens} uncomputed tokens of {@code sequence}. */
public record ScheduledChunk(SequenceState sequence, int tokens, boolean prefill) {
}
