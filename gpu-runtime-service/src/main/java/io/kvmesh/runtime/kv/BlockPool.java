package io.kvmesh.runtime.kv;

import java.util.Arrays;
import java.util.Objects;
import java.util.function.LongSupplier;

import it.unimi.dsi.fastutil.ints.IntSet;
import it.unimi.dsi.fastutil.longs.Long2IntOpenHashMap;

import io.kvmesh.prefix.events.Medium;

/**
 * The physical KV blocks of one memory tier: a fixed pool allocated once, reference counts, and the prefix cache
 * (block hash → block) with segmented-LRU eviction of unreferenced blocks.
 *
 * <p>Like vLLM's v1 block pool, blocks with no reference sit in free queues, cached or not, ordered from least to most
 * recently freed; allocation takes blocks from a head, and a cached block taken from there is evicted (a
 * {@link KvEventSink#removed} event); a cache hit on a free block takes it out of its queue. Unlike vLLM's single
 * queue there are two (segmented LRU, as in SGLang's choice of LRU or LFU eviction): blocks that were reused since
 * they were cached — a shared system prompt, a paused session's kept context — join the <em>reused</em> queue,
 * everything else (a question asked once, an answer) the <em>once</em> queue, and allocation empties the once queue
 * before it evicts a reused block. With one LRU queue, a burst of single-use blocks pushes a prefix that many requests
 * share out of the cache as soon as it is briefly unreferenced. Callers free a sequence's blocks tail first
 * ({@link #free(int[])} does the reversal), so when blocks of one chain are equally old the chain's tail is evicted
 * before its head, which other requests are likelier to share.
 *
 * <p>Before a cached block is reused, its token ids are compared with the request's: a hash is an index, not a proof.
 * Not thread-safe: owned by the engine's scheduling thread.
 */
public final class BlockPool {

    private static final int NONE = -1;

    private final int blockSize;
    private final int[] refCount;
    private final long[] hash;
    private final boolean[] cached;
    private final int[] tokens;
    /** Whether a cached block was reused since it was cached: it then waits in the reused queue when free. */
    private final boolean[] reused;
    // Two intrusive doubly linked free queues over block ids (O(1) removal from the middle on a cache hit): index
    // ONCE and REUSED of head/tail; queue[block] says which holds a free block.
    private static final int ONCE = 0;
    private static final int REUSED = 1;
    private final int[] prev;
    private final int[] next;
    private final byte[] queue;
    private final int[] head = {NONE, NONE};
    private final int[] tail = {NONE, NONE};
    private final int[] queued = {0, 0};
    /** When each free block joined its queue (nanoseconds of {@link #clock}): the reused queue is in that order. */
    private final long[] freedAt;
    private LongSupplier clock = System::nanoTime;
    private int freeCount;
    private final Long2IntOpenHashMap blockByHash;
    private final KvEventSink events;
    private final Medium medium;
    private long evictions;

    /** A device pool. */
    public BlockPool(int blocks, int blockSize, KvEventSink events) {
        this(blocks, blockSize, events, Medium.DEVICE);
    }

    /** A pool on {@code medium}: the device's, or host memory for swapped-out blocks. */
    public BlockPool(int blocks, int blockSize, KvEventSink events, Medium medium) {
        if (blocks < 1) {
            throw new IllegalArgumentException("a block pool needs at least one block, got " + blocks);
        }
        if (blockSize < 1) {
            throw new IllegalArgumentException("block size must be positive, got " + blockSize);
        }
        this.blockSize = blockSize;
        this.events = Objects.requireNonNull(events, "events");
        this.medium = Objects.requireNonNull(medium, "medium");
        this.refCount = new int[blocks];
        this.hash = new long[blocks];
        this.cached = new boolean[blocks];
        this.tokens = new int[Math.multiplyExact(blocks, blockSize)];
        this.reused = new boolean[blocks];
        this.prev = new int[blocks];
        this.next = new int[blocks];
        this.queue = new byte[blocks];
        Arrays.fill(queue, (byte) NONE);
        this.freedAt = new long[blocks];
        this.blockByHash = new Long2IntOpenHashMap(blocks);
        this.blockByHash.defaultReturnValue(NONE);
        for (int block = 0; block < blocks; block++) {
            append(block);
        }
    }

    /** Reads the time blocks are freed at from {@code nanoTime} (the engine's clock: virtual in simulations). */
    public BlockPool timedBy(LongSupplier nanoTime) {
        this.clock = Objects.requireNonNull(nanoTime, "nanoTime");
        return this;
    }

    public int blockSize() {
        return blockSize;
    }

    public Medium medium() {
        return medium;
    }

    /** The hash a cached block is stored under. */
    public long hashOf(int block) {
        if (!cached[block]) {
            throw new IllegalStateException("block " + block + " is not cached");
        }
        return hash[block];
    }

    public boolean isCached(int block) {
        return cached[block];
    }

    public int totalBlocks() {
        return refCount.length;
    }

    /** Blocks no sequence references (some of them may still hold cached content). */
    public int freeBlocks() {
        return freeCount;
    }

    /** Blocks referenced by at least one sequence. */
    public int usedBlocks() {
        return totalBlocks() - freeCount;
    }

    /** Blocks in the prefix cache, referenced or not. */
    public int cachedBlocks() {
        return blockByHash.size();
    }

    /** Cached blocks evicted to make room, since start. */
    public long evictions() {
        return evictions;
    }

    /** Fraction of blocks referenced by sequences, as {@code vllm:kv_cache_usage_perc} reports it (0..1). */
    public double usage() {
        return (double) usedBlocks() / totalBlocks();
    }

    /**
     * Tells the pool's event sink that a queued request will store these blocks ({@link KvEventSink#queued}). Touches no
     * pool state, so any thread may call it (the sink is thread-safe).
     */
    public void announceQueued(long[] blockHashes) {
        events.queued(blockHashes);
    }

    /** The hashes of every cached block, in no particular order (what the pod's KV events have announced). */
    public long[] cachedHashes() {
        return blockByHash.keySet().toLongArray();
    }

    public int refCount(int block) {
        return refCount[block];
    }

    /** Whether {@code count} blocks can be allocated now (evicting cached free blocks if needed). */
    public boolean canAllocate(int count) {
        return count <= freeCount;
    }

    /** Takes {@code count} blocks from the head of the free queue, evicting their cached content; each gets one reference. */
    public int[] allocate(int count) {
        if (count < 0 || count > freeCount) {
            throw new IllegalStateException("cannot allocate " + count + " blocks: " + freeCount + " free of " + totalBlocks());
        }
        int[] blocks = new int[count];
        for (int i = 0; i < count; i++) {
            int block = head[ONCE] != NONE ? head[ONCE] : head[REUSED];
            unlink(block);
            if (cached[block]) {
                evict(block);
            }
            refCount[block] = 1;
            blocks[i] = block;
        }
        return blocks;
    }

    /**
     * The cached block for {@code blockHash} whose tokens equal {@code tokenIds[offset, offset + blockSize)}, or -1.
     * Does not take a reference; call {@link #touch(int)} to use it.
     */
    public int lookup(long blockHash, int[] tokenIds, int offset) {
        int block = blockByHash.get(blockHash);
        if (block == NONE) {
            return NONE;
        }
        return Arrays.equals(tokens, block * blockSize, block * blockSize + blockSize, tokenIds, offset, offset + blockSize)
                ? block : NONE;
    }

    /**
     * Adds a reference to a block found in the cache (taking it out of its free queue if it was free); the block counts
     * as reused from now on, until it is evicted.
     */
    public void touch(int block) {
        if (refCount[block]++ == 0) {
            unlink(block);
        }
        reused[block] = cached[block];
    }

    /**
     * Marks a cached block as one that will be reused (a paused session's context, which its next turn resumes from),
     * so that, once free, it waits in the reused queue.
     */
    public void expectReuse(int block) {
        if (cached[block]) {
            reused[block] = true;
        }
    }

    /**
     * Marks the free cached blocks of a prefix that a waiting request will reuse, given in prefix order, and moves them
     * to the most recently used end of the reused queue (tail first, so the chain's head goes last): allocation then
     * evicts every other free block before them.
     */
    public void keepForReuse(int[] prefixBlocks, int count) {
        for (int i = count - 1; i >= 0; i--) {
            int block = prefixBlocks[i];
            if (refCount[block] == 0 && cached[block]) {
                unlink(block);
                reused[block] = true;
                append(block);
            }
        }
    }

    /** Free blocks waiting in the reused queue (evicted only once no other free block is left). */
    public int freeReusedBlocks() {
        return queued[REUSED];
    }

    /**
     * Free blocks of the reused queue that were freed (or kept for a waiting request) at or after {@code sinceNanos},
     * except those in {@code excluded}: prefixes in use moments ago, which the next request of their group is likely
     * to reuse. Walks the queue from its most recent end, so costs the count it returns.
     */
    public int recentlyFreedReusedBlocks(long sinceNanos, IntSet excluded) {
        int count = 0;
        for (int block = tail[REUSED]; block != NONE && freedAt[block] - sinceNanos >= 0; block = prev[block]) {
            if (!excluded.contains(block)) {
                count++;
            }
        }
        return count;
    }

    /**
     * Enters a full block into the prefix cache under {@code blockHash}, remembering its tokens. Returns false (and
     * leaves the block uncached) when another block already holds that hash: two sequences computed the same block.
     */
    public boolean cache(int block, long blockHash, long parentHash, boolean parentIsRoot, int[] tokenIds, int offset) {
        if (refCount[block] == 0) {
            throw new IllegalStateException("block " + block + " is free; only a referenced block can be cached");
        }
        if (cached[block]) {
            throw new IllegalStateException("block " + block + " is cached already");
        }
        if (blockByHash.containsKey(blockHash)) {
            return false;
        }
        System.arraycopy(tokenIds, offset, tokens, block * blockSize, blockSize);
        hash[block] = blockHash;
        cached[block] = true;
        blockByHash.put(blockHash, block);
        events.stored(blockHash, parentHash, parentIsRoot, Arrays.copyOfRange(tokenIds, offset, offset + blockSize), medium);
        return true;
    }

    /**
     * Drops one reference from each of a sequence's blocks, given in sequence order. Blocks left unreferenced join the
     * free queue tail first, so a chain's tail is evicted before its head.
     */
    public void free(int[] sequenceBlocks) {
        for (int i = sequenceBlocks.length - 1; i >= 0; i--) {
            int block = sequenceBlocks[i];
            if (refCount[block] <= 0) {
                throw new IllegalStateException("block " + block + " freed more often than referenced");
            }
            if (--refCount[block] == 0) {
                append(block);
            }
        }
    }

    private void evict(int block) {
        blockByHash.remove(hash[block]);
        cached[block] = false;
        reused[block] = false;
        evictions++;
        events.removed(hash[block], medium);
    }

    private void append(int block) {
        int q = cached[block] && reused[block] ? REUSED : ONCE;
        prev[block] = tail[q];
        next[block] = NONE;
        if (tail[q] == NONE) {
            head[q] = block;
        } else {
            next[tail[q]] = block;
        }
        tail[q] = block;
        queue[block] = (byte) q;
        freedAt[block] = clock.getAsLong();
        queued[q]++;
        freeCount++;
    }

    private void unlink(int block) {
        int q = queue[block];
        if (q == NONE) {
            throw new IllegalStateException("block " + block + " is not free");
        }
        if (prev[block] == NONE) {
            head[q] = next[block];
        } else {
            next[prev[block]] = next[block];
        }
        if (next[block] == NONE) {
            tail[q] = prev[block];
        } else {
            prev[next[block]] = prev[block];
        }
        queue[block] = (byte) NONE;
        queued[q]--;
        freeCount--;
    }
}
