package io.kvmesh.prefix.index;

/**
 * Size of a {@link PrefixIndex}: live pods, distinct block hashes, and (pod, block) pairs per tier
 * (a block held on both tiers of a pod counts in both).
 */
public record IndexStats(int pods, long distinctBlocks, long deviceEntries, long hostEntries) {
}
