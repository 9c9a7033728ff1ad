package io.kvmesh.router.routing;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.LongPredicate;
import java.util.function.LongSupplier;

import it.unimi.dsi.fastutil.longs.Long2LongOpenHashMap;

/**
 * Blocks a pod is expected to hold because this router just sent it a request with them, before the pod's
 * {@code BlockStored} events arrive (prefill plus the trip through Kafka: tens to hundreds of milliseconds). Without
 * them a burst of sibling requests sees no holder and scatters; with them the siblings follow the first request.
 *
 * <p>An entry lives {@code ttl} milliseconds. It is <em>confirmed</em> when the index learns from the pod's own events
 * that the pod holds the block (the entry is dropped: the index entry replaces it), or <em>expires</em> (dropped with
 * nothing left behind: the index is never written). Entries stay local to this replica, like llm-d's; for the same
 * index, pod statuses, decisions and clock two replicas rank alike.
 *
 * <p>Thread-safe. The clock (milliseconds, any monotonic source) is passed in so tests control expiry.
 */
public final class SpeculativeEntries {

    /** Lifetime totals and the entries held now: {@code inserted = confirmed + expired + held}. */
    public record Counts(long inserted, long confirmed, long expired, long held) {
    }

    private record Pending(String podId, long blockHash, long expiresAt) {
    }

    private final long ttlMillis;
    private final LongSupplier clockMillis;
    private final Map<String, Long2LongOpenHashMap> expiryByPod = new HashMap<>();
    // Entries in insertion order; with one TTL that is also expiry order, so expiring is popping the head.
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private long inserted;
    private long confirmed;
    private long expired;
    private long held;

    /** {@code ttlMillis} 0 turns speculation off: inserts are ignored. */
    public SpeculativeEntries(long ttlMillis, LongSupplier clockMillis) {
        if (ttlMillis < 0) {
            throw new IllegalArgumentException("speculative TTL must not be negative, got " + ttlMillis + " ms");
        }
        this.ttlMillis = ttlMillis;
        this.clockMillis = clockMillis;
    }

    public long ttlMillis() {
        return ttlMillis;
    }

    /** Expects {@code podId} to hold {@code blockHashes[from..]} for the next TTL (refreshing entries already there). */
    public synchronized void insert(String podId, long[] blockHashes, int from) {
        if (ttlMillis == 0 || from >= blockHashes.length) {
            return;
        }
        long now = clockMillis.getAsLong();
        expire(now);
        long expiresAt = now + ttlMillis;
        Long2LongOpenHashMap expiries = expiryByPod.computeIfAbsent(podId, id -> newExpiries());
        for (int i = from; i < blockHashes.length; i++) {
            if (expiries.put(blockHashes[i], expiresAt) == expiries.defaultReturnValue()) {
                inserted++;
                held++;
            }
            pending.addLast(new Pending(podId, blockHashes[i], expiresAt));
        }
    }

    /** How many of {@code blockHashes[from..]}, consecutively, {@code podId} holds speculatively. */
    public synchronized int consecutive(String podId, long[] blockHashes, int from) {
        expire(clockMillis.getAsLong());
        Long2LongOpenHashMap expiries = expiryByPod.get(podId);
        int count = 0;
        if (expiries != null) {
            while (from + count < blockHashes.length && expiries.containsKey(blockHashes[from + count])) {
                count++;
            }
        }
        return count;
    }

    /** Pods with speculative entries now, in id order. */
    public synchronized Set<String> pods() {
        expire(clockMillis.getAsLong());
        return new TreeSet<>(expiryByPod.keySet());
    }

    /** Drops, as confirmed, the entries of {@code podId} whose blocks the index now holds for it; returns how many. */
    public synchronized int confirm(String podId, LongPredicate indexHolds) {
        expire(clockMillis.getAsLong());
        Long2LongOpenHashMap expiries = expiryByPod.get(podId);
        if (expiries == null) {
            return 0;
        }
        int before = expiries.size();
        expiries.keySet().removeIf(indexHolds);
        int count = before - expiries.size();
        confirmed += count;
        held -= count;
        if (expiries.isEmpty()) {
            expiryByPod.remove(podId);
        }
        return count;
    }

    public synchronized Counts counts() {
        expire(clockMillis.getAsLong());
        return new Counts(inserted, confirmed, expired, held);
    }

    /** Bookkeeping records still queued for expiry (0 once every entry has expired: nothing leaks). */
    synchronized int queued() {
        expire(clockMillis.getAsLong());
        return pending.size();
    }

    private void expire(long now) {
        while (!pending.isEmpty() && pending.peekFirst().expiresAt() <= now) {
            Pending head = pending.pollFirst();
            Long2LongOpenHashMap expiries = expiryByPod.get(head.podId());
            // A refreshed or confirmed entry has a later expiry or none: its older record is skipped.
            if (expiries != null && expiries.get(head.blockHash()) == head.expiresAt()) {
                expiries.remove(head.blockHash());
                expired++;
                held--;
                if (expiries.isEmpty()) {
                    expiryByPod.remove(head.podId());
                }
            }
        }
    }

    private static Long2LongOpenHashMap newExpiries() {
        Long2LongOpenHashMap expiries = new Long2LongOpenHashMap();
        expiries.defaultReturnValue(Long.MIN_VALUE);
        return expiries;
    }
}
