package io.kvmesh.runtime.kv;

import java.util.Arrays;
import java.util.Objects;

import io.kvmesh.prefix.blocks.BlockHasher;
import it.unimi.dsi.fastutil.ints.IntArrayList;
import it.unimi.dsi.fastutil.ints.IntSet;
import it.unimi.dsi.fastutil.longs.Long2IntOpenHashMap;

/**
 * Per-sequence questions on top of the {@link BlockPool}s: which prompt blocks are already cached (on the device, else
 * in the host tier, whence they are copied back instead of recomputed), which blocks to allocate for new tokens, which
 * newly written blocks to enter into the prefix cache, releasing a finished sequence, and what a paused sequence
 * keeps: its device blocks pinned ({@link #pin}) or copies in the host tier ({@link #swapOut}). Counts prefix-cache
 * queries and hits in tokens, as vLLM's metrics do.
 *
 * <p>Copies between the tiers are only planned here ({@link #takeSwapIns}, {@link #swapOut}'s result); the engine has
 * its backend carry them out before the next forward pass. Not thread-safe: owned by the engine's scheduling thread.
 */
public final class KvCacheManager {

    /** Whole blocks to copy: {@code from[i]} of one tier into {@code to[i]} of the other. */
    public record BlockCopies(int[] from, int[] to) {
        public static final BlockCopies NONE = new BlockCopies(new int[0], new int[0]);

        public int blocks() {
            return from.length;
        }
    }

    private final BlockPool pool;
    private final BlockPool host;
    private final BlockHasher hasher;
    private long queryTokens;
    private long hitTokens;
    private long hostHitTokens;
    private final IntArrayList swapInFrom = new IntArrayList();
    private final IntArrayList swapInTo = new IntArrayList();
    /**
     * Chained hashes of full prompt blocks that admitted sequences are computing and have not written yet, with how
     * many sequences compute each: a request whose prompt continues into them can wait until they are written and
     * reuse them instead of computing them a second time ({@link #blocksInFlight}).
     */
    private final Long2IntOpenHashMap inFlight = new Long2IntOpenHashMap();

    /** A device pool without a host tier. */
    public KvCacheManager(BlockPool pool, BlockHasher hasher) {
        this(pool, null, hasher);
    }

    /** A device pool with a host tier for swapped-out blocks ({@code host} may be null: none). */
    public KvCacheManager(BlockPool pool, BlockPool host, BlockHasher hasher) {
        if (pool.blockSize() != hasher.blockSize() || (host != null && host.blockSize() != pool.blockSize())) {
            throw new IllegalArgumentException("pool block size " + pool.blockSize()
                    + " differs from hasher block size " + hasher.blockSize()
                    + (host == null ? "" : " or host pool block size " + host.blockSize()));
        }
        this.pool = Objects.requireNonNull(pool, "pool");
        this.host = host;
        this.hasher = hasher;
    }

    public BlockPool pool() {
        return pool;
    }

    /** The host tier, or null when there is none. */
    public BlockPool host() {
        return host;
    }

    /** Prompt tokens copied back from the host tier instead of recomputed, since start. */
    public long hostHitTokens() {
        return hostHitTokens;
    }

    /** Prompt tokens looked up in the prefix cache since start ({@code vllm:prefix_cache_queries}). */
    public long queryTokens() {
        return queryTokens;
    }

    /** Prompt tokens found in the prefix cache since start ({@code vllm:prefix_cache_hits}). */
    public long hitTokens() {
        return hitTokens;
    }

    /**
     * Admits a sequence: reuses the longest cached prefix of its prompt and allocates blocks for the rest. At least one
     * prompt token is always left to compute, because the model needs it to produce the next token's logits. Where
     * the device cache ends, blocks the host tier holds continue the prefix: they get device blocks and are copied
     * back ({@link #takeSwapIns}) instead of recomputed. Returns null, changing nothing, when the pool lacks the blocks.
     */
    public SequenceBlocks admit(String id, int[] prompt) {
        return admit(id, prompt, "");
    }

    /**
     * {@link #admit(String, int[])} for a request with its own cache salt: its block chain starts from the root of the
     * pool's salt combined with it ({@link BlockHasher#combinedSalt}), so it shares blocks only with equal salts.
     */
    public SequenceBlocks admit(String id, int[] prompt, String requestSalt) {
        BlockHasher hasher = hasherFor(requestSalt);
        if (prompt.length == 0) {
            throw new IllegalArgumentException("a prompt needs at least one token");
        }
        int blockSize = pool.blockSize();
        int reusableBlocks = (prompt.length - 1) / blockSize;
        long[] hashes = hasher.hashFullBlocks(prompt, reusableBlocks * blockSize);
        DeviceHits device = deviceHits(prompt, hashes);
        int[] hits = device.blocks;
        int hitCount = device.count;
        int freeHits = device.unreferenced;
        int hostHitCount = 0;
        int[] hostHits = new int[reusableBlocks - hitCount];
        for (; host != null && hitCount + hostHitCount < reusableBlocks; hostHitCount++) {
            int index = hitCount + hostHitCount;
            int block = host.lookup(hashes[index], prompt, index * blockSize);
            if (block < 0) {
                break;
            }
            hostHits[hostHitCount] = block;
        }
        int newBlocks = blocksFor(prompt.length) - hitCount;
        if (!pool.canAllocate(newBlocks + freeHits)) {
            return null;
        }
        SequenceBlocks sequence = new SequenceBlocks(id, prompt, hasher.rootHash());
        for (int i = 0; i < hitCount; i++) {
            pool.touch(hits[i]);
            sequence.hashed(hashes[i]);
        }
        sequence.addBlocks(Arrays.copyOf(hits, hitCount));
        int[] allocated = pool.allocate(newBlocks);
        sequence.addBlocks(allocated);
        for (int i = 0; i < hostHitCount; i++) {
            // Entered into the device cache now: the copy runs before any forward pass could read the block.
            int index = hitCount + i;
            pool.cache(allocated[i], hashes[index], sequence.lastHash(), index == 0, prompt, index * blockSize);
            sequence.hashed(hashes[index]);
            swapInFrom.add(hostHits[i]);
            swapInTo.add(allocated[i]);
        }
        int cached = (hitCount + hostHitCount) * blockSize;
        sequence.inFlightFirstBlock = hitCount + hostHitCount;
        sequence.inFlightHashes = Arrays.copyOfRange(hashes, hitCount + hostHitCount, reusableBlocks);
        for (long hash : sequence.inFlightHashes) {
            inFlight.addTo(hash, 1);
        }
        sequence.setComputedTokens(cached);
        sequence.setCachedPromptTokens(cached);
        queryTokens += prompt.length;
        hitTokens += hitCount * blockSize;
        hostHitTokens += hostHitCount * blockSize;
        return sequence;
    }

    /** The host → device copies planned by admissions since the last call; the backend must run them before forward. */
    public BlockCopies takeSwapIns() {
        if (swapInFrom.isEmpty()) {
            return BlockCopies.NONE;
        }
        BlockCopies copies = new BlockCopies(swapInFrom.toIntArray(), swapInTo.toIntArray());
        swapInFrom.clear();
        swapInTo.clear();
        return copies;
    }

    /**
     * Pins a pausing sequence's full, cached device blocks (one more reference each) so they cannot be evicted until
     * {@link #unpin}; when the session resumes, admission finds them in the prefix cache. Returns the pinned blocks.
     */
    public int[] pin(SequenceBlocks sequence) {
        int[] blocks = java.util.Arrays.copyOf(sequence.blocks(), sequence.hashedBlocks());
        for (int block : blocks) {
            pool.touch(block);
        }
        return blocks;
    }

    /**
     * A pausing session's full, cached device blocks will be reused by its next turn whatever the pause keeps: they
     * are evicted like shared prefixes, after blocks used once (which a session's own context would otherwise be).
     */
    public void expectReuse(SequenceBlocks sequence) {
        for (int i = 0; i < sequence.hashedBlocks(); i++) {
            pool.expectReuse(sequence.block(i));
        }
    }

    /** Drops the references {@link #pin} took. */
    public void unpin(int[] blocks) {
        pool.free(blocks);
    }

    /**
     * Copies a pausing sequence's full, cached blocks into the host tier (blocks it holds already are shared) and pins
     * them there; the device blocks are released as usual when the sequence finishes. Returns the planned copies
     * (device → host, to run before the device blocks can be reused) and the pinned host blocks, or null, changing
     * nothing, when the host tier lacks room.
     */
    public SwapOut swapOut(SequenceBlocks sequence) {
        if (host == null) {
            return null;
        }
        int count = sequence.hashedBlocks();
        int[] hostBlocks = new int[count];
        boolean[] present = new boolean[count];
        int missing = 0;
        int[] tokens = sequence.tokenArray();
        int blockSize = pool.blockSize();
        for (int i = 0; i < count; i++) {
            int found = host.lookup(pool.hashOf(sequence.block(i)), tokens, i * blockSize);
            if (found >= 0) {
                host.touch(found);
                hostBlocks[i] = found;
                present[i] = true;
            } else {
                missing++;
            }
        }
        if (!host.canAllocate(missing)) {
            int[] touched = new int[count - missing];
            for (int i = 0, t = 0; i < count; i++) {
                if (present[i]) {
                    touched[t++] = hostBlocks[i];
                }
            }
            host.free(touched);
            return null;
        }
        int[] fresh = host.allocate(missing);
        int[] from = new int[missing];
        long parent = sequence.rootHash();
        for (int i = 0, f = 0; i < count; i++) {
            long hash = pool.hashOf(sequence.block(i));
            if (!present[i]) {
                hostBlocks[i] = fresh[f];
                from[f] = sequence.block(i);
                host.cache(fresh[f], hash, parent, i == 0, tokens, i * blockSize);
                f++;
            }
            parent = hash;
        }
        return new SwapOut(new BlockCopies(from, fresh), hostBlocks);
    }

    /** What {@link #swapOut} planned: the copies to run and the host blocks now pinned for the paused sequence. */
    public record SwapOut(BlockCopies copies, int[] hostBlocks) {
    }

    /** Drops the host-tier references {@link #swapOut} took; the blocks stay cached there until evicted. */
    public void unpinHost(int[] hostBlocks) {
        host.free(hostBlocks);
    }

    /**
     * Blocks for {@code tokens} tokens of a throwaway sequence (profiling the backend at start): no prefix lookup, no
     * counting; release them with {@link #release}. Returns null when the pool lacks them.
     */
    public SequenceBlocks scratch(int[] tokens) {
        int blocks = blocksFor(tokens.length);
        if (!pool.canAllocate(blocks)) {
            return null;
        }
        SequenceBlocks sequence = new SequenceBlocks("scratch", tokens, hasher.rootHash());
        sequence.addBlocks(pool.allocate(blocks));
        return sequence;
    }

    /**
     * Appends a generated token, allocating a block when the last one is full. Returns false, changing nothing, when
     * no block is free (the scheduler then preempts someone).
     */
    public boolean append(SequenceBlocks sequence, int token) {
        if (blocksFor(sequence.tokenCount() + 1) > sequence.blockCount()) {
            if (!pool.canAllocate(1)) {
                return false;
            }
            sequence.addBlocks(pool.allocate(1));
        }
        sequence.appendToken(token);
        return true;
    }

    /**
     * Records that the KV of the sequence's first {@code computedTokens} tokens is written, and enters every block
     * that is now full and written into the prefix cache (emitting its store event).
     */
    public void markComputed(SequenceBlocks sequence, int computedTokens) {
        if (computedTokens < sequence.computedTokens() || computedTokens > sequence.tokenCount()) {
            throw new IllegalArgumentException("computed tokens must grow within the sequence: "
                    + sequence.computedTokens() + " → " + computedTokens + " of " + sequence.tokenCount());
        }
        sequence.setComputedTokens(computedTokens);
        int blockSize = pool.blockSize();
        int[] tokens = sequence.tokenArray();
        while ((sequence.hashedBlocks() + 1) * blockSize <= computedTokens) {
            int index = sequence.hashedBlocks();
            long parent = sequence.lastHash();
            long hash = hasher.hashBlock(parent, tokens, index * blockSize);
            pool.cache(sequence.block(index), hash, parent, index == 0, tokens, index * blockSize);
            sequence.hashed(hash);
        }
        settleInFlight(sequence, sequence.hashedBlocks());
    }

    /** The longest prefix of a prompt's full blocks cached on the device; how many of them no sequence references. */
    private record DeviceHits(int[] blocks, int count, int unreferenced) {
    }

    private DeviceHits deviceHits(int[] prompt, long[] hashes) {
        int blockSize = pool.blockSize();
        int[] hits = new int[hashes.length];
        int count = 0;
        int unreferenced = 0;
        for (; count < hashes.length; count++) {
            int block = pool.lookup(hashes[count], prompt, count * blockSize);
            if (block < 0) {
                break;
            }
            hits[count] = block;
            if (pool.refCount(block) == 0) {
                unreferenced++;
            }
        }
        return new DeviceHits(hits, count, unreferenced);
    }

    /** The hashes of {@code prompt}'s reusable full blocks (all but the last token's), for {@link #deviceCachedBlocks}. */
    public long[] reusableBlockHashes(int[] prompt, String requestSalt) {
        int reusableBlocks = Math.max(0, (prompt.length - 1) / pool.blockSize());
        return hasherFor(requestSalt).hashFullBlocks(prompt, reusableBlocks * pool.blockSize());
    }

    /** How many of a prompt's leading full blocks ({@link #reusableBlockHashes}) the device has cached now. */
    public int deviceCachedBlocks(int[] prompt, long[] hashes) {
        return deviceHits(prompt, hashes).count;
    }

    /**
     * How many of the device's free blocks admitting {@code prompt} now would take: the blocks it does not find cached
     * on the device, plus the cached ones no sequence references (free until it does). Changes nothing.
     */
    public int blocksToAdmit(int[] prompt, String requestSalt) {
        return blocksToAdmit(prompt, reusableBlockHashes(prompt, requestSalt));
    }

    /** {@link #blocksToAdmit(int[], String)} with the prompt's {@link #reusableBlockHashes} already computed. */
    public int blocksToAdmit(int[] prompt, long[] hashes) {
        DeviceHits device = deviceHits(prompt, hashes);
        return blocksFor(prompt.length) - device.count + device.unreferenced;
    }

    /**
     * Announces a newly submitted {@code prompt}'s reusable full blocks (the KV event {@code BlocksQueued}): every router
     * replica then expects this pod to hold them, not only the one that sent the request. Returns their hashes
     * ({@link #reusableBlockHashes}) for the scheduler to keep. Safe on any thread, so a request is announced as it
     * arrives, not when the engine thread next looks (a prefill step can take hundreds of milliseconds); routers drop
     * the blocks their index already holds.
     */
    public long[] announceQueued(int[] prompt, String requestSalt) {
        long[] hashes = reusableBlockHashes(prompt, requestSalt);
        if (hashes.length > 0) {
            pool.announceQueued(hashes);
        }
        return hashes;
    }

    /**
     * Adds to {@code kept} the blocks of {@code prompt}'s prefix cached on the device that no sequence references, and
     * has the pool evict them after every other free block ({@link BlockPool#keepForReuse}): a waiting request will
     * reuse them, so evicting them now only means computing them again. Returns how many of the prompt's leading
     * blocks the device has cached ({@link #deviceCachedBlocks}), from the same walk.
     */
    public int keepCachedPrefix(int[] prompt, long[] hashes, IntSet kept) {
        DeviceHits device = deviceHits(prompt, hashes);
        if (device.unreferenced > 0) {
            pool.keepForReuse(device.blocks, device.count);
            for (int i = 0; i < device.count; i++) {
                if (pool.refCount(device.blocks[i]) == 0) {
                    kept.add(device.blocks[i]);
                }
            }
        }
        return device.count;
    }

    /**
     * How many full blocks of {@code prompt}, right after its longest prefix cached on either tier, admitted sequences
     * are computing now. A request admitted this moment would compute those blocks a second time; admitted once they
     * are written, it reuses them (SGLang defers a waiting request whose prefix another one in the same batch will
     * compute; this does the same across iterations).
     */
    public int blocksInFlight(int[] prompt, String requestSalt) {
        if (inFlight.isEmpty() || prompt.length == 0) {
            return 0;
        }
        return blocksInFlight(prompt, reusableBlockHashes(prompt, requestSalt));
    }

    /** {@link #blocksInFlight(int[], String)} with the prompt's {@link #reusableBlockHashes} already computed. */
    public int blocksInFlight(int[] prompt, long[] hashes) {
        if (inFlight.isEmpty()) {
            return 0;
        }
        int blockSize = pool.blockSize();
        int reusableBlocks = hashes.length;
        // Where admission's cached prefix ends: the device's, continued on the host tier.
        int index = deviceHits(prompt, hashes).count;
        while (host != null && index < reusableBlocks && host.lookup(hashes[index], prompt, index * blockSize) >= 0) {
            index++;
        }
        int count = 0;
        while (index + count < reusableBlocks && inFlight.get(hashes[index + count]) > 0) {
            count++;
        }
        return count;
    }

    /** Blocks of the prompt that admitted sequences are computing, over all of them (a gauge for tests and metrics). */
    public int inFlightBlocks() {
        return inFlight.size();
    }

    /** Unregisters the sequence's in-flight blocks below {@code hashedBlocks}: written now, or given up. */
    private void settleInFlight(SequenceBlocks sequence, int hashedBlocks) {
        long[] hashes = sequence.inFlightHashes;
        while (sequence.inFlightSettled < hashes.length && sequence.inFlightFirstBlock + sequence.inFlightSettled < hashedBlocks) {
            long hash = hashes[sequence.inFlightSettled++];
            if (inFlight.addTo(hash, -1) <= 1) {
                inFlight.remove(hash);
            }
        }
    }

    /** Releases a finished (or preempted) sequence's blocks; cached ones stay reusable until evicted. */
    public void release(SequenceBlocks sequence) {
        settleInFlight(sequence, Integer.MAX_VALUE);
        pool.free(sequence.blocks());
        sequence.clearBlocks();
        sequence.resetChain(sequence.rootHash());
    }

    /** Hashers per request salt, made once each; bounded, since salts come from requests. */
    private BlockHasher hasherFor(String requestSalt) {
        if (requestSalt.isEmpty()) {
            return hasher;
        }
        if (saltedHashers.size() >= MAX_SALTS) {
            saltedHashers.clear();
        }
        return saltedHashers.computeIfAbsent(requestSalt, salt ->
                new BlockHasher(hasher.modelId(), BlockHasher.combinedSalt(hasher.cacheSalt(), salt), hasher.blockSize()));
    }

    private static final int MAX_SALTS = 4096;
    // Concurrent: request threads hash prompts to announce them (announceQueued) while the engine thread admits.
    private final java.util.Map<String, BlockHasher> saltedHashers = new java.util.concurrent.ConcurrentHashMap<>();

    /** Blocks that hold {@code tokens} tokens. */
    public int blocksFor(int tokens) {
        return (tokens + pool.blockSize() - 1) / pool.blockSize();
    }
}
