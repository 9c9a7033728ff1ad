package io.kvmesh.prefix.events;

import java.util.Arrays;
import java.util.Objects;

import io.kvmesh.prefix.blocks.BlockHashFormat;

/** Blocks the pod no longer holds on {@code medium} (evicted, or moved to the other tier). */
public record BlockRemoved(long[] blockHashes, Medium medium) implements KvEvent {

    public BlockRemoved {
        Objects.requireNonNull(blockHashes, "blockHashes");
        Objects.requireNonNull(medium, "medium");
        if (blockHashes.length == 0) {
            throw new IllegalArgumentException("blockHashes must not be empty");
        }
        blockHashes = blockHashes.clone();
    }

    @Override
    public long[] blockHashes() {
        return blockHashes.clone();
    }

    public int blockCount() {
        return blockHashes.length;
    }

    public long blockHash(int i) {
        return blockHashes[i];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BlockRemoved other && Arrays.equals(blockHashes, other.blockHashes) && medium == other.medium;
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(blockHashes) + medium.hashCode();
    }

    @Override
    public String toString() {
        return "BlockRemoved[blocks=" + blockHashes.length + ", first=" + BlockHashFormat.format(blockHashes[0])
                + ", medium=" + medium + "]";
    }
}
