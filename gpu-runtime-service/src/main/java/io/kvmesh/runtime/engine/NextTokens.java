package io.kvmesh.runtime.engine;

import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The tokens a model backend sampled in its last forward pass, one per sequence whose logits it computed, until the
 * engine takes them ({@link ForwardBackend#sampleNext}). Each is sampled by its sequence's own parameters.
 */
public final class NextTokens {

    private final Map<SequenceState, Integer> tokens = new IdentityHashMap<>();

    /** Samples {@code sequence}'s next token from {@code logits} and keeps it. */
    public void sample(SequenceState sequence, float[] logits) {
        tokens.put(sequence, sequence.sample(logits));
    }

    public int take(SequenceState sequence) {
        Integer token = tokens.remove(sequence);
        if (token == null) {
            throw new IllegalStateException("no logits computed for " + sequence.id());
        }
        return token;
    }
}
