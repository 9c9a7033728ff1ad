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
import it.unimi.dsi.fastutil.longs.Long2LongOpenHashMap;
import it.unimi.dsi.fastutil.longs.Long2ObjectOpenHashMap;
import it.unimi.dsi.fastutil.longs.LongArrayList;

import io.kvmesh.prefix.events.AllBlocksCleared;
import io.kvmesh.prefix.events.BlockRemoved;
import io.kvmesh.prefix.events.BlocksQueued;
import io.kvmesh.prefix.events.BlockStored;
import io.kvmesh.prefix.events.KvEvent;
import io.kvmesh.prefix.events.KvEventBatch;
import io.kvmesh.prefix.events.Medium;
import io.kvmesh.prefix.events.PodIndexSnapshot;

/**
 * Which pod holds which KV block, on which tier, folded from the pods' {@link KvEventBatch}es.
 *
 * <p>Two kinds of maps with primitive keys: block hash → holders (the pods' slot numbers with their tier bits, up to
 * four {@linkplain PackedHolders packed in one long}), which finds a request's candidates at its first block and
 * follows all of them along the chain with one probe per block; and per pod, block hash → tier bits, which keeps
 * the pod's storage order (for eviction), its snapshot, and retires it without scanning every block. Block hashes are chained, so a pod
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

    /** Pods followed at once; a batch from one more is {@link ApplyOutcome#TOO_MANY_PODS}. */
    public static final int MAX_PODS = PackedHolders.MAX_SLOT + 1;

    private static final int DEVICE = 1;
    private static final int HOST = 2;

    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private final Long2LongOpenHashMap holdersByBlock = new Long2LongOpenHashMap();
    /** Holders ({@code slot << 2 | tiers}) of the blocks whose packed value is {@link PackedHolders#CROWDED}. */
    private final Long2ObjectOpenHashMap<int[]> crowdedHolders = new Long2ObjectOpenHashMap<>();
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
                if (pod == null) {
                    return ApplyOutcome.TOO_MANY_PODS;
                }
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
            int[] candidates = holders(blockHashes[0]);
            if (candidates == null) {
                return List.of();
            }
            int count = candidates.length;
            int[] device = new int[count];
            int[] host = new int[count];
            boolean[] stopped = new boolean[count];
            for (int c = 0; c < count; c++) {
                tally(candidates[c] & 3, c, device, host);
                candidates[c] >>>= 2;
            }
            int following = count;
            for (int i = 1; i < blockHashes.length && following > 0; i++) {
                long packed = holdersByBlock.get(blockHashes[i]);
                if (packed == 0) {
                    break;
                }
                int[] crowded = packed == PackedHolders.CROWDED ? crowdedHolders.get(blockHashes[i]) : null;
                for (int c = 0; c < count; c++) {
                    if (stopped[c]) {
                        continue;
                    }
                    int tiers = crowded == null
                            ? PackedHolders.tiersOf(packed, candidates[c])
                            : PackedHolders.tiersOf(crowded, candidates[c]);
                    if (tiers == 0) {
                        stopped[c] = true;
                        following--;
                    } else {
                        tally(tiers, c, device, host);
                    }
                }
            }
            List<PodMatch> matches = new ArrayList<>(count);
            for (int c = 0; c < count; c++) {
                matches.add(new PodMatch(podsBySlot.get(candidates[c]).id, device[c] + host[c], device[c], host[c]));
            }
            matches.sort(Comparator.comparingInt(PodMatch::matchedBlocks).reversed()
                    .thenComparing(Comparator.comparingInt(PodMatch::deviceBlocks).reversed())
                    .thenComparing(PodMatch::podId));
            return matches;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** A block counts as on device when the pod has it there, whatever else it has. */
    private static void tally(int tiers, int candidate, int[] device, int[] host) {
        if ((tiers & DEVICE) != 0) {
            device[candidate]++;
        } else {
            host[candidate]++;
        }
    }

    /** The block's holders as {@code slot << 2 | tiers} (a fresh array), or null when nobody holds it. */
    private int[] holders(long hash) {
        long packed = holdersByBlock.get(hash);
        if (packed == 0) {
            return null;
        }
        return packed == PackedHolders.CROWDED ? crowdedHolders.get(hash).clone() : PackedHolders.unpack(packed);
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
                if (pod == null) {
                    return;
                }
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

    /** A new pod in a free slot; null when every slot the packed holders can name is taken. */
    private Pod addPod(String podId, long epoch) {
        if (freeSlots.isEmpty() && podsBySlot.size() >= MAX_PODS) {
            return null;
        }
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
            case BlocksQueued queued -> {
                // Not held yet: routers read these as speculative entries; the index waits for BlockStored.
            }
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
        setHolder(hash, pod.slot, after);
        if (before == 0) {
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
        setHolder(hash, pod.slot, after);
        if (after == 0) {
            pod.blocks.remove(hash);
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
            setHolder(entry.getLongKey(), pod.slot, 0);
        }
        entries -= pod.blocks.size();
        pod.blocks.clear();
        pod.blocks.trim();
    }

    /** Records that the pod in {@code slot} has {@code hash} on {@code tiers}; 0 removes it as a holder. */
    private void setHolder(long hash, int slot, int tiers) {
        long packed = holdersByBlock.get(hash);
        if (packed == PackedHolders.CROWDED) {
            int[] crowded = withHolder(crowdedHolders.get(hash), slot, tiers);
            if (crowded.length > PackedHolders.LANES) {
                crowdedHolders.put(hash, crowded);
            } else {
                crowdedHolders.remove(hash);
                holdersByBlock.put(hash, PackedHolders.pack(crowded));
            }
            return;
        }
        int lane = PackedHolders.laneOf(packed, slot);
        if (lane < 0 && tiers == 0) {
            return;
        }
        if (lane < 0) {
            lane = PackedHolders.freeLane(packed);
        }
        if (lane < 0) {
            holdersByBlock.put(hash, PackedHolders.CROWDED);
            crowdedHolders.put(hash, withHolder(PackedHolders.unpack(packed), slot, tiers));
            return;
        }
        long updated = PackedHolders.withLane(packed, lane, slot, tiers);
        if (updated == 0) {
            holdersByBlock.remove(hash);
        } else {
            holdersByBlock.put(hash, updated);
        }
    }

    /** {@code holders} ({@code slot << 2 | tiers}) with {@code slot} set to {@code tiers}, or removed when 0. */
    private static int[] withHolder(int[] holders, int slot, int tiers) {
        for (int i = 0; i < holders.length; i++) {
            if (holders[i] >>> 2 == slot) {
                if (tiers != 0) {
                    int[] updated = holders.clone();
                    updated[i] = slot << 2 | tiers;
                    return updated;
                }
                int[] fewer = Arrays.copyOf(holders, holders.length - 1);
                if (i < fewer.length) {
                    fewer[i] = holders[holders.length - 1];
                }
                return fewer;
            }
        }
        if (tiers == 0) {
            return holders;
        }
        int[] more = Arrays.copyOf(holders, holders.length + 1);
        more[holders.length] = slot << 2 | tiers;
        return more;
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
