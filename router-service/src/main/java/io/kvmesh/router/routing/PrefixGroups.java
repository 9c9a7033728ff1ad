package io.kvmesh.router.routing;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * BatchLLM-style prefix groups: requests that arrive within {@code window} of each other and share their first
 * {@code minSharedBlocks} blocks (equal chained hash of block K-1 ⇔ equal first K blocks) form a group. The first is
 * the leader and goes where the policy says; the others follow it to the same pod and are held back until that pod
 * holds the shared prefix (its KV events reached the index) or the leader's answer ended, so the prefix is computed
 * once instead of once per request of a burst. Plain Java; time is passed in.
 */
public final class PrefixGroups {

    /** A group's leader: where it went, when, and whether its answer has ended (released followers wait no longer). */
    public static final class Group {
        private final long prefixHash;
        private final String podId;
        private final long openedNanos;
        private volatile boolean leaderDone;

        Group(long prefixHash, String podId, long openedNanos) {
            this.prefixHash = prefixHash;
            this.podId = podId;
            this.openedNanos = openedNanos;
        }

        /** The hash of the last shared block: a pod holding it holds the whole shared prefix. */
        public long prefixHash() {
            return prefixHash;
        }

        public String podId() {
            return podId;
        }

        public void leaderDone() {
            leaderDone = true;
        }

        public boolean isLeaderDone() {
            return leaderDone;
        }
    }

    private final long windowNanos;
    private final int minSharedBlocks;
    private final Map<Long, Group> open = new ConcurrentHashMap<>();
    private final LongAdder leaders = new LongAdder();
    private final LongAdder followers = new LongAdder();

    /**
     * @param windowNanos     how long after a leader others may still join it; 0 turns grouping off
     * @param minSharedBlocks how many leading blocks a request must share with the leader to join
     */
    public PrefixGroups(long windowNanos, int minSharedBlocks) {
        if (windowNanos < 0 || minSharedBlocks < 1) {
            throw new IllegalArgumentException("window must be ≥ 0 and shared blocks ≥ 1");
        }
        this.windowNanos = windowNanos;
        this.minSharedBlocks = minSharedBlocks;
    }

    public boolean enabled() {
        return windowNanos > 0;
    }

    /** A request's place in a group: the leader (sent at once) or a follower (held back, then sent to the leader's pod). */
    public record Membership(Group group, boolean leader) {
    }

    /**
     * Puts a request of {@code blockHashes}, which the policy would send to {@code chosenPod}, into a group: it follows
     * an open group with the same leading blocks, or else leads a new one. Empty when grouping is off or the request
     * is shorter than the shared minimum.
     */
    public Optional<Membership> join(long[] blockHashes, String chosenPod, long nowNanos) {
        if (!enabled() || blockHashes.length < minSharedBlocks) {
            return Optional.empty();
        }
        open.values().removeIf(group -> nowNanos - group.openedNanos > windowNanos);
        Group candidate = new Group(blockHashes[minSharedBlocks - 1], chosenPod, nowNanos);
        Group group = open.putIfAbsent(candidate.prefixHash, candidate);
        if (group == null) {
            leaders.increment();
            return Optional.of(new Membership(candidate, true));
        }
        followers.increment();
        return Optional.of(new Membership(group, false));
    }

    public long leaders() {
        return leaders.sum();
    }

    public long followers() {
        return followers.sum();
    }

    /** Groups still open to joiners (for tests and stats). */
    public int openGroups() {
        return open.size();
    }
}
