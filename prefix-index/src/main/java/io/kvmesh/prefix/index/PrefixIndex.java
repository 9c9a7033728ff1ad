package io.kvmesh.prefix.index;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import it.unimi.dsi.fastutil.longs.Long2IntLinkedOpenHashMap;
import it.unimi.dsi.fastutil.longs.Long2IntMap;
import it.unimi.dsi.fastutil.longs.Long2ObjectOpenHashMap;
import it.unimi.dsi.fastutil.longs.LongArrayList;

import io.kvmesh.prefix.events.AllBlocksCleared;
import io.kvmesh.prefix.events.BlockRemoved;
import io.kvmesh.prefix.events.BlockStored;
import io.kvmesh.prefix.events.KvEvent;
import io.kvmesh.prefix.events.KvEventBatch;
import io.kvmesh.prefix.events.Medium;
import io.kvmesh.prefix.events.PodIndexSnapshot;

/**
 * Which pod holds which KV block, on which tier, folded from the pods' {@link KvEventBatch}es.
 *
 * <p>Two maps with primitive keys: block hash → holders (the slot numbers of the pods holding it),
 * used to find the candidates for a request's first block; and per pod, block hash → tier bits, used to follow a
 * candidate along the chain and to retire a pod without scanning every block. Block hashes are chained, so a pod
 * that holds block {@code i} of a request holds a prefix whose content equals the request's first {@code i+1}
 * blocks (up to hash collisions, which the runtime guards against by comparing tokens).
 *
 * <p>Memory is bounded: beyond {@code maxEntries} (pod, block) entries, the pod holding the most blocks loses its
 * oldest-stored ones first (what it would most likely have evicted itself), and the evictions are counted. A router
 * then merely under-estimates that pod's cache; nothing else changes.
 *
 * <p>Thread-safe: one writer (the event consumer) and any number of readers (routing) share a read-write lock.
 */
public final class PrefixIndex {

    private static final int DEVICE = 1;
    private static final int HOST = 2;

    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private final Long2ObjectOpenHashMap<int[]> holdersByBlock = new Long2ObjectOpenHashMap<>();
    private final Map<String, Pod> podsById = new HashMap<>();
    private final List<Pod> podsBySlot = new ArrayList<>();
    private final List<Integer> freeSlots = new ArrayList<>();
    private long deviceEntries;
    private long hostEntries;
    private final long maxEntries;
    /** (pod, block) pairs held, whatever their tiers. */
    private long entries;
    private long evictedEntries;

    /** An index without a size bound. */
    public PrefixIndex() {
        this(Long.MAX_VALUE);
    }

    /** @param maxEntries (pod, block) entries held at most; beyond it the largest pod's oldest entries are evicted */
    public PrefixIndex(long maxEntries) {
        if (maxEntries < 1) {
            throw new IllegalArgumentException("maxEntries must be positive, got " + maxEntries);
        }
        this.maxEntries = maxEntries;
    }

    private static final class Pod {
        final String id;
        final int slot;
        /** Insertion-ordered, so the oldest-stored block is the first: eviction needs no extra bookkeeping. */
        final Long2IntLinkedOpenHashMap blocks = new Long2IntLinkedOpenHashMap();
        long epoch;
        long lastSeq;

        Pod(String id, int slot, long epoch) {
            this.id = id;
            this.slot = slot;
            this.epoch = epoch;
        }
    }

    /** Applies one batch in pod order; see {@link ApplyOutcome} for duplicates, gaps and restarts. */
    public ApplyOutcome apply(KvEventBatch batch) {
        lock.writeLock().lock();
        try {
            Pod pod = podsById.get(batch.podId());
            ApplyOutcome outcome;
            if (pod == null) {
                pod = addPod(batch.podId(), batch.epoch());
                outcome = ApplyOutcome.APPLIED;
            } else if (batch.epoch() < pod.epoch) {
                return ApplyOutcome.STALE_EPOCH;
            } else if (batch.epoch() > pod.epoch) {
                clear(pod);
                pod.epoch = batch.epoch();
                outcome = ApplyOutcome.NEW_EPOCH;
            } else if (batch.seq() <= pod.lastSeq) {
                return ApplyOutcome.DUPLICATE;
            } else if (batch.seq() > pod.lastSeq + 1) {
                clear(pod);
                outcome = ApplyOutcome.SEQ_GAP;
            } else {
                outcome = ApplyOutcome.APPLIED;
            }
            pod.lastSeq = batch.seq();
            for (KvEvent event : batch.events()) {
                applyEvent(pod, event);
            }
            return outcome;
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Forgets a pod and every block it held. Returns false when the pod was unknown. */
    public boolean retire(String podId) {
        lock.writeLock().lock();
        try {
            Pod pod = podsById.remove(podId);
            if (pod == null) {
                return false;
            }
            clear(pod);
            podsBySlot.set(pod.slot, null);
            freeSlots.add(pod.slot);
            return true;
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * For the block hashes of a request, in order: every pod that holds at least the first block, with the number
     * of consecutive blocks from the first that it holds, split by tier. Sorted by matched blocks (most first), then
     * by device blocks, then by pod id.
     */
    public List<PodMatch> match(long[] blockHashes) {
        if (blockHashes.length == 0) {
            return List.of();
        }
        lock.readLock().lock();
        try {
            int[] firstHolders = holdersByBlock.get(blockHashes[0]);
            if (firstHolders == null) {
                return List.of();
            }
            List<PodMatch> matches = new ArrayList<>(firstHolders.length);
            for (int slot : firstHolders) {
                Pod pod = podsBySlot.get(slot);
                int device = 0;
                int host = 0;
                for (long hash : blockHashes) {
                    int tiers = pod.blocks.get(hash);
                    if (tiers == 0) {
                        break;
                    } else if ((tiers & DEVICE) != 0) {
                        device++;
                    } else {
                        host++;
                    }
                }
                matches.add(new PodMatch(pod.id, device + host, device, host));
            }
            matches.sort(Comparator.comparingInt(PodMatch::matchedBlocks).reversed()
                    .thenComparing(Comparator.comparingInt(PodMatch::deviceBlocks).reversed())
                    .thenComparing(PodMatch::podId));
            return matches;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Whether the index holds {@code blockHash} for {@code podId} on any tier. */
    public boolean holds(String podId, long blockHash) {
        lock.readLock().lock();
        try {
            Pod pod = podsById.get(podId);
            return pod != null && pod.blocks.get(blockHash) != 0;
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * The pod's blocks by tier with its epoch and last applied {@code seq}, for the {@code kv-index} topic; empty when
     * the index does not know the pod.
     */
    public Optional<PodIndexSnapshot> snapshot(String podId, Map<Integer, Long> sourceOffsets) {
        lock.readLock().lock();
        try {
            Pod pod = podsById.get(podId);
            if (pod == null) {
                return Optional.empty();
            }
            LongArrayList device = new LongArrayList();
            LongArrayList host = new LongArrayList();
            for (Long2IntMap.Entry entry : pod.blocks.long2IntEntrySet()) {
                if ((entry.getIntValue() & DEVICE) != 0) {
                    device.add(entry.getLongKey());
                }
                if ((entry.getIntValue() & HOST) != 0) {
                    host.add(entry.getLongKey());
                }
            }
            return Optional.of(new PodIndexSnapshot(pod.id, pod.epoch, pod.lastSeq, device.toLongArray(),
                    host.toLongArray(), sourceOffsets));
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Replaces what the index holds for the snapshot's pod with the snapshot (a reader bootstrapping from
     * {@code kv-index}); batches up to the snapshot's {@code seq} are then duplicates.
     */
    public void restore(PodIndexSnapshot snapshot) {
        lock.writeLock().lock();
        try {
            Pod pod = podsById.get(snapshot.podId());
            if (pod == null) {
                pod = addPod(snapshot.podId(), snapshot.epoch());
            } else {
                clear(pod);
                pod.epoch = snapshot.epoch();
            }
            pod.lastSeq = snapshot.lastSeq();
            for (long hash : snapshot.deviceBlocks()) {
                addTier(pod, hash, DEVICE);
            }
            for (long hash : snapshot.hostBlocks()) {
                addTier(pod, hash, HOST);
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Ids of the pods the index holds state for. */
    public List<String> pods() {
        lock.readLock().lock();
        try {
            return List.copyOf(podsById.keySet());
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The epoch and last applied sequence number the index holds for a pod. */
    public Optional<PodPosition> position(String podId) {
        lock.readLock().lock();
        try {
            Pod pod = podsById.get(podId);
            return pod == null ? Optional.empty() : Optional.of(new PodPosition(pod.epoch, pod.lastSeq));
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Where a pod's event stream stands in the index. */
    public record PodPosition(long epoch, long lastSeq) {
    }

    /** Entries evicted because the index reached its bound. */
    public long evictedEntries() {
        lock.readLock().lock();
        try {
            return evictedEntries;
        } finally {
            lock.readLock().unlock();
        }
    }

    public long maxEntries() {
        return maxEntries;
    }

    public IndexStats stats() {
        lock.readLock().lock();
        try {
            return new IndexStats(podsById.size(), holdersByBlock.size(), deviceEntries, hostEntries);
        } finally {
            lock.readLock().unlock();
        }
    }

    private Pod addPod(String podId, long epoch) {
        int slot = freeSlots.isEmpty() ? podsBySlot.size() : freeSlots.removeLast();
        Pod pod = new Pod(podId, slot, epoch);
        // The first batch seen sets the baseline: a consumer may start in the middle of a pod's stream.
        pod.lastSeq = Long.MIN_VALUE;
        if (slot == podsBySlot.size()) {
            podsBySlot.add(pod);
        } else {
            podsBySlot.set(slot, pod);
        }
        podsById.put(podId, pod);
        return pod;
    }

    private void applyEvent(Pod pod, KvEvent event) {
        switch (event) {
            case BlockStored stored -> {
                int tier = tierBit(stored.medium());
                for (int i = 0; i < stored.blockCount(); i++) {
                    addTier(pod, stored.blockHash(i), tier);
                }
            }
            case BlockRemoved removed -> {
                int tier = tierBit(removed.medium());
                for (int i = 0; i < removed.blockCount(); i++) {
                    removeTier(pod, removed.blockHash(i), tier);
                }
            }
            case AllBlocksCleared cleared -> clear(pod);
        }
    }

    private void addTier(Pod pod, long hash, int tier) {
        int before = pod.blocks.get(hash);
        int after = before | tier;
        if (after == before) {
            return;
        }
        pod.blocks.put(hash, after);
        count(tier, +1);
        if (before == 0) {
            addHolder(hash, pod.slot);
            entries++;
            while (entries > maxEntries) {
                evictOldestOfLargestPod();
            }
        }
    }

    private void evictOldestOfLargestPod() {
        Pod largest = null;
        for (Pod pod : podsById.values()) {
            if (largest == null || pod.blocks.size() > largest.blocks.size()) {
                largest = pod;
            }
        }
        long oldest = largest.blocks.firstLongKey();
        int tiers = largest.blocks.get(oldest);
        if ((tiers & DEVICE) != 0) {
            removeTier(largest, oldest, DEVICE);
        }
        if ((tiers & HOST) != 0) {
            removeTier(largest, oldest, HOST);
        }
        evictedEntries++;
    }

    private void removeTier(Pod pod, long hash, int tier) {
        int before = pod.blocks.get(hash);
        if ((before & tier) == 0) {
            return;
        }
        int after = before & ~tier;
        count(tier, -1);
        if (after == 0) {
            pod.blocks.remove(hash);
            removeHolder(hash, pod.slot);
            entries--;
        } else {
            pod.blocks.put(hash, after);
        }
    }

    private void clear(Pod pod) {
        for (Long2IntMap.Entry entry : pod.blocks.long2IntEntrySet()) {
            int tiers = entry.getIntValue();
            if ((tiers & DEVICE) != 0) {
                count(DEVICE, -1);
            }
            if ((tiers & HOST) != 0) {
                count(HOST, -1);
            }
            removeHolder(entry.getLongKey(), pod.slot);
        }
        entries -= pod.blocks.size();
        pod.blocks.clear();
        pod.blocks.trim();
    }

    private void addHolder(long hash, int slot) {
        int[] holders = holdersByBlock.get(hash);
        if (holders == null) {
            holdersByBlock.put(hash, new int[] {slot});
        } else {
            int[] more = Arrays.copyOf(holders, holders.length + 1);
            more[holders.length] = slot;
            holdersByBlock.put(hash, more);
        }
    }

    private void removeHolder(long hash, int slot) {
        int[] holders = holdersByBlock.get(hash);
        int at = holders == null ? -1 : indexOf(holders, slot);
        if (at < 0) {
            return;
        }
        if (holders.length == 1) {
            holdersByBlock.remove(hash);
        } else {
            int[] fewer = Arrays.copyOf(holders, holders.length - 1);
            if (at < fewer.length) {
                fewer[at] = holders[holders.length - 1];
            }
            holdersByBlock.put(hash, fewer);
        }
    }

    private static int indexOf(int[] values, int value) {
        for (int i = 0; i < values.length; i++) {
            if (values[i] == value) {
                return i;
            }
        }
        return -1;
    }

    private void count(int tier, int delta) {
        if (tier == DEVICE) {
            deviceEntries += delta;
        } else {
            hostEntries += delta;
        }
    }

    private static int tierBit(Medium medium) {
        return medium == Medium.DEVICE ? DEVICE : HOST;
    }
}
