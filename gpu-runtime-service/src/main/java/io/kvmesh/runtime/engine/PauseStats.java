package io.kvmesh.runtime.engine;

/**
 * What the engine did with paused sessions, totals since start (for {@code /metrics} and the pod status): decisions by
 * choice, swaps that fell back to discard because the host tier was full, blocks copied each way, context tokens
 * recomputed on resume, sessions resumed or expired, pauses whose pinned KV was reclaimed because waiting requests
 * needed the blocks, and the call-duration prediction error; {@code pinnedDeviceBlocks} is a gauge: device blocks kept
 * for paused sessions and for resuming turns not yet admitted.
 */
public record PauseStats(
        int paused,
        int pinnedDeviceBlocks,
        long kept,
        long swapped,
        long discarded,
        long hostFullFallbacks,
        long blocksSwappedOut,
        long blocksSwappedIn,
        long recomputedTokens,
        long resumed,
        long expired,
        long reclaimed,
        double predictionAbsErrorSecondsSum,
        double forwardSecondsPerToken,
        double forwardSecondsFixed,
        double swapSecondsPerToken) {

    public static final PauseStats NONE = new PauseStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    public long decisions() {
        return kept + swapped + discarded;
    }
}
