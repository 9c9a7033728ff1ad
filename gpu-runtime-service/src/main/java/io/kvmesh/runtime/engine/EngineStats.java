package io.kvmesh.runtime.engine;

/**
 * A consistent view of the engine for metrics and the pod status. Counters are totals since start. {@code paused}
 * sessions wait for their next turn; host blocks are the swap tier's (referenced by paused sessions); prefix holds are
 * requests that waited for blocks another sequence was computing instead of computing them again.
 */
public record EngineStats(
        int running,
        int waiting,
        int usedBlocks,
        int totalBlocks,
        long prefixQueryTokens,
        long prefixHitTokens,
        long promptTokens,
        long generatedTokens,
        long finishedRequests,
        long preemptions,
        int paused,
        int hostUsedBlocks,
        int hostTotalBlocks,
        long hostHitTokens,
        long prefixHolds) {

    public double kvUsage() {
        return totalBlocks == 0 ? 0 : (double) usedBlocks / totalBlocks;
    }

    public double prefixHitRate() {
        return prefixQueryTokens == 0 ? 0 : (double) prefixHitTokens / prefixQueryTokens;
    }
}
