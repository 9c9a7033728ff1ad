package io.kvmesh.runtime.engine;

/** A consistent view of the engine for metrics and the pod status. Counters are totals since start. */
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
        long preemptions) {

    public double kvUsage() {
        return totalBlocks == 0 ? 0 : (double) usedBlocks / totalBlocks;
    }

    public double prefixHitRate() {
        return prefixQueryTokens == 0 ? 0 : (double) prefixHitTokens / prefixQueryTokens;
    }
}
