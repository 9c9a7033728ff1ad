package io.kvmesh.runtime.engine;

import java.util.List;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

import it.unimi.dsi.fastutil.ints.IntArrayList;

import io.kvmesh.runtime.kv.SequenceBlocks;

/**
 * A request inside the engine: all its tokens so far (prompt then generated, kept here so a preempted sequence can be
 * admitted again with everything it had), its KV blocks while admitted, and its counters.
 */
public final class SequenceState {

    final GenerationRequest request;
    final IntArrayList tokens;
    SequenceBlocks kv;
    int generated;
    int cachedPromptTokens = -1;
    boolean started;
    volatile boolean cancelled;
    /** The tools the session's earlier turns called, in order (empty for a session's first turn or no session). */
    List<String> sessionTools = List.of();
    /** When the scheduler began holding it back for blocks another sequence is computing. */
    long heldSinceNanos;
    /** When it joined the waiting queue. */
    long queuedAtNanos;
    /** Its prompt's reusable block hashes, computed once for the scheduler's cached-prefix scan; null until then. */
    long[] promptBlockHashes;
    /** The pause this sequence resumes, whose blocks stay pinned until the sequence is admitted. */
    PausedSession resumes;
    private final RandomGenerator random;

    SequenceState(GenerationRequest request) {
        this.request = request;
        this.tokens = new IntArrayList(request.promptTokens());
        Long seed = request.sampling().seed();
        this.random = seed == null ? new SplittableRandom() : new SplittableRandom(seed);
    }

    /** The next token from this sequence's logits, by its request's sampling parameters and seeded generator. */
    public int sample(float[] logits) {
        return Sampler.sample(logits, request.sampling(), random);
    }

    public String id() {
        return request.id();
    }

    /** The sequence's KV blocks, or null while it waits. */
    public SequenceBlocks kv() {
        return kv;
    }

    /** Tokens still to generate at most. */
    public int remainingTokens() {
        return request.maxTokens() - generated;
    }

    /** The session turn this request is: 0 for a session's first (or no session), 1 after one tool call, … */
    public int sessionTurn() {
        return sessionTools.size();
    }

    /** The tool its turn ends in, or null. */
    public String toolCall() {
        return request.toolCall();
    }

    public int promptLength() {
        return request.promptTokens().length;
    }

    public int tokenCount() {
        return tokens.size();
    }

    public int token(int position) {
        return tokens.getInt(position);
    }

    /** Whether every prompt token's KV is written (the sequence is decoding). */
    public boolean inDecode() {
        return kv != null && kv.computedTokens() >= promptLength();
    }
}
