package io.kvmesh.runtime.lamps;

import java.util.Arrays;

/**
 * This engine's measured costs, for the waste model: forward time per iteration as a function of the tokens in it
 * (a {@link ForwardCostModel} fitted to the last {@code capacity} iterations, refitted every {@code refitEvery} new
 * ones, so the start-up profile is refined by real traffic) and host-tier copy time per token (a moving average of
 * measured swaps). Owned by the engine thread; {@link #forward()} and {@link #swapSecondsPerToken()} may be read
 * from any thread.
 */
public final class CostProfile {

    private final long[] tokens;
    private final double[] seconds;
    private final int refitEvery;
    private int count;
    private int next;
    private int sinceFit;
    private volatile ForwardCostModel forward;
    private volatile double swapSecondsPerToken;
    private boolean swapMeasured;

    /**
     * @param initial           the model until enough iterations are measured
     * @param swapSecondsPerToken the copy cost until a swap is measured
     */
    public CostProfile(int capacity, int refitEvery, ForwardCostModel initial, double swapSecondsPerToken) {
        if (capacity < 3 || refitEvery < 1) {
            throw new IllegalArgumentException("capacity must be >= 3 and refitEvery >= 1");
        }
        this.tokens = new long[capacity];
        this.seconds = new double[capacity];
        this.refitEvery = refitEvery;
        this.forward = initial;
        this.swapSecondsPerToken = swapSecondsPerToken;
    }

    /** An iteration that computed {@code iterationTokens} tokens in {@code iterationSeconds}. */
    public void observeIteration(long iterationTokens, double iterationSeconds) {
        if (iterationTokens <= 0 || !(iterationSeconds > 0) || Double.isInfinite(iterationSeconds)) {
            return;
        }
        tokens[next] = iterationTokens;
        seconds[next] = iterationSeconds;
        next = (next + 1) % tokens.length;
        count = Math.min(count + 1, tokens.length);
        if (++sinceFit >= refitEvery) {
            refit();
        }
    }

    /** A copy of {@code copiedTokens} tokens between the tiers that took {@code copySeconds}. */
    public void observeSwap(long copiedTokens, double copySeconds) {
        if (copiedTokens <= 0 || !(copySeconds >= 0) || Double.isInfinite(copySeconds)) {
            return;
        }
        double perToken = copySeconds / copiedTokens;
        swapSecondsPerToken = swapMeasured ? 0.8 * swapSecondsPerToken + 0.2 * perToken : perToken;
        swapMeasured = true;
    }

    /** Refits now from what was observed (the start-up profile calls it once). */
    public void refit() {
        sinceFit = 0;
        if (count < 3 || Arrays.stream(tokens, 0, count).distinct().count() < 2) {
            return;
        }
        try {
            forward = ForwardCostModel.fit(Arrays.copyOf(tokens, count), Arrays.copyOf(seconds, count));
        } catch (IllegalArgumentException e) {
            // Samples that do not determine a curve (too few distinct sizes yet): keep the last model.
        }
    }

    public ForwardCostModel forward() {
        return forward;
    }

    public double swapSecondsPerToken() {
        return swapSecondsPerToken;
    }
}
