package io.kvmesh.runtime.sim;

import java.time.Duration;

/**
 * What an iteration costs on the {@code sim} backend: {@code prefillPerToken} for every prompt token computed (cached
 * tokens cost nothing, which is the point), and for an iteration with decodes, {@code decodeStep} plus
 * {@code decodePerSequence} per decoding sequence.
 */
public record SimCostModel(Duration prefillPerToken, Duration decodeStep, Duration decodePerSequence) {

    public long iterationNanos(int prefillTokens, int decodingSequences) {
        long nanos = prefillTokens * prefillPerToken.toNanos();
        if (decodingSequences > 0) {
            nanos += decodeStep.toNanos() + decodingSequences * decodePerSequence.toNanos();
        }
        return nanos;
    }
}
