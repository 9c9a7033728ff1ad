package io.kvmesh.prefix.events;

import java.util.Arrays;
import java.util.Map;
import java.util.Objects;

/**
 * One pod's blocks as the cache-index service folded them, the value of the compacted {@code kv-index} topic (keyed by
 * pod id; a tombstone when the pod is retired). {@code lastSeq} is the last batch of {@code epoch} applied.
 * {@code sourceOffsets} maps each {@code kv-events} partition to the offset from which a reader must tail to miss
 * nothing after this snapshot (everything before it on every partition was applied when it was written).
 */
public record PodIndexSnapshot(String podId, long epoch, long lastSeq, long[] deviceBlocks, long[] hostBlocks,
                               Map<Integer, Long> sourceOffsets) {

    public PodIndexSnapshot {
        Objects.requireNonNull(podId, "podId");
        if (podId.isEmpty()) {
            throw new IllegalArgumentException("podId must not be empty");
        }
        deviceBlocks = deviceBlocks.clone();
        hostBlocks = hostBlocks.clone();
        sourceOffsets = Map.copyOf(sourceOffsets);
    }

    @Override
    public long[] deviceBlocks() {
        return deviceBlocks.clone();
    }

    @Override
    public long[] hostBlocks() {
        return hostBlocks.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PodIndexSnapshot other && podId.equals(other.podId) && epoch == other.epoch
                && lastSeq == other.lastSeq && Arrays.equals(deviceBlocks, other.deviceBlocks)
                && Arrays.equals(hostBlocks, other.hostBlocks) && sourceOffsets.equals(other.sourceOffsets);
    }

    @Override
    public int hashCode() {
        return Objects.hash(podId, epoch, lastSeq, Arrays.hashCode(deviceBlocks), Arrays.hashCode(hostBlocks), sourceOffsets);
    }

    @Override
    public String toString() {
        return "PodIndexSnapshot[" + podId + ", epoch=" + epoch + ", seq=" + lastSeq + ", device=" + deviceBlocks.length
                + ", host=" + hostBlocks.length + ", offsets=" + sourceOffsets + "]";
    }
}
