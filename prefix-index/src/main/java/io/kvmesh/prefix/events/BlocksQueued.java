package io.kvmesh.prefix.events;

import java.util.Arrays;
import java.util.Objects;

import io.kvmesh.prefix.blocks.BlockHashFormat;

/**
 * A request just joined the pod's queue, and these are its prompt's full blocks: the pod holds them or will store them
 * once it computes them (unless the request is cancelled first). Not part of vLLM's events, and not a
 * change to what the pod holds: the index ignores it. Routers hold the blocks as speculative entries for a short TTL,
 * so every replica, not only the one that sent the request, sends the request's siblings after it before its
 * {@link BlockStored} arrives.
 */
public record BlocksQueued(long[] blockHashes) implements KvEvent {

    public BlocksQueued {
        Objects.requireNonNull(blockHashes, "blockHashes");
        if (blockHashes.length == 0) {
            throw new IllegalArgumentException("blockHashes must not be empty");
        }
        blockHashes = blockHashes.clone();
    }

    @Override
    public long[] blockHashes() {
        return blockHashes.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BlocksQueued other && Arrays.equals(blockHashes, other.blockHashes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(blockHashes);
    }

    @Override
    public String toString() {
        return "BlocksQueued[blocks=" + blockHashes.length + ", first=" + BlockHashFormat.format(blockHashes[0]) + "]";
    }
}
