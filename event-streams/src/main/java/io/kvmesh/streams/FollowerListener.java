package io.kvmesh.streams;

import java.util.Map;
import java.util.Set;

/** Called on the follower's thread after each poll, while no other change reaches the index. */
@FunctionalInterface
public interface FollowerListener {

    /**
     * @param kvEventPositions the next offset to read on each {@code kv-events} partition: everything before is applied
     * @param changedPods      pods whose index state changed since the last call (retired ones included)
     */
    void afterPoll(Map<Integer, Long> kvEventPositions, Set<String> changedPods);

    /**
     * A pod queued a request that will store {@code blockHashes} ({@link io.kvmesh.prefix.events.BlocksQueued}), announced
     * in a batch the pod wrote at {@code batchMillis} (its wall clock): called as the batch is applied, before
     * {@link #afterPoll}. A follower catching up also passes old announcements; the age says which.
     */
    default void queued(String podId, long[] blockHashes, long batchMillis) {
    }

    FollowerListener NONE = (positions, changed) -> {
    };
}
