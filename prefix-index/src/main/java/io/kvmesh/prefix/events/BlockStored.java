package io.kvmesh.prefix.events;

import java.util.Arrays;
import java.util.Objects;

import io.kvmesh.prefix.blocks.BlockHashFormat;

/**
 * A run of consecutive full blocks the pod now holds on {@code medium}. {@code parentHash} is the hash of the block
 * before the first one (null when the run starts at the root). {@code tokenIds} holds the tokens of all blocks in
 * order, {@code blockHashes.length * blockSize} of them, so a consumer that hashes differently can recompute keys.
 */
public record BlockStored(long[] blockHashes, Long parentHash, int[] tokenIds, int blockSize, Medium medium)
        implements KvEvent {

    public BlockStored {
        Objects.requireNonNull(blockHashes, "blockHashes");
        Objects.requireNonNull(tokenIds, "tokenIds");
        Objects.requireNonNull(medium, "medium");
        if (blockHashes.length == 0) {
            throw new IllegalArgumentException("blockHashes must not be empty");
        }
        if (blockSize < 1) {
            throw new IllegalArgumentException("blockSize must be positive, got " + blockSize);
        }
        if ((long) blockHashes.length * blockSize != tokenIds.length) {
            throw new IllegalArgumentException("tokenIds must hold blockHashes.length * blockSize = "
                    + (long) blockHashes.length * blockSize + " tokens, got " + tokenIds.length);
        }
        blockHashes = blockHashes.clone();
        tokenIds = tokenIds.clone();
    }

    @Override
    public long[] blockHashes() {
        return blockHashes.clone();
    }

    @Override
    public int[] tokenIds() {
        return tokenIds.clone();
    }

    /** Number of blocks stored. */
    public int blockCount() {
        return blockHashes.length;
    }

    /** The i-th block hash, without copying the array. */
    public long blockHash(int i) {
        return blockHashes[i];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BlockStored other
                && Arrays.equals(blockHashes, other.blockHashes)
                && Objects.equals(parentHash, other.parentHash)
                && Arrays.equals(tokenIds, other.tokenIds)
                && blockSize == other.blockSize
                && medium == other.medium;
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(blockHashes), parentHash, Arrays.hashCode(tokenIds), blockSize, medium);
    }

    @Override
    public String toString() {
        return "BlockStored[blocks=" + blockHashes.length + ", first=" + BlockHashFormat.format(blockHashes[0])
                + ", parent=" + (parentHash == null ? "root" : BlockHashFormat.format(parentHash))
                + ", blockSize=" + blockSize + ", medium=" + medium + "]";
    }
}
