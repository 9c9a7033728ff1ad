package io.kvmesh.runtime.sim;

import java.time.Duration;

/**
 * What an iteration costs on the {@code sim} backend: {@code prefillPerToken} for every prompt token computed (cached
 * tokens cost nothing, which is the point), and for an iteration with decodes, {@code decodeStep} plus
 * {@code decodePerSequence} per decoding sequence. Copying a block between the device and the host tier costs
 * {@code swapPerToken} per token it holds.
 */
public record SimCostModel(Duration prefillPerToken, Duration decodeStep, Duration decodePerSequence, Duration swapPerToken) {

    /** No host-tier traffic priced (swaps then take no time). */
    public SimCostModel(Duration prefillPerToken, Duration decodeStep, Duration decodePerSequence) {
        this(prefillPerToken, decodeStep, decodePerSequence, Duration.ZERO);
    }

    public long swapNanos(int tokens) {
        return tokens * swapPerToken.toNanos();
    }

    public long iterationNanos(int prefillTokens, int decodingSequences) {
        long nanos = prefillTokens * prefillPerToken.toNanos();
        if (decodingSequences > 0) {
            nanos += decodeStep.toNanos() + decodingSequences * decodePerSequence.toNanos();
        }
        return nanos;
    }
}
