package io.kvmesh.prefix.index;

/**
 * How many leading blocks of a request one pod holds: {@code matchedBlocks} consecutive blocks from the first,
 * of which {@code deviceBlocks} are in device memory and {@code hostBlocks} only in host memory.
 */
public record PodMatch(String podId, int matchedBlocks, int deviceBlocks, int hostBlocks) {

    public PodMatch {
        if (deviceBlocks + hostBlocks != matchedBlocks) {
            throw new IllegalArgumentException("device + host blocks must equal matched blocks");
        }
    }
}
