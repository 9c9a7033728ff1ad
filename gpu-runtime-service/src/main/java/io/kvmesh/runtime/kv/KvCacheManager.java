package io.kvmesh.runtime.kv;

import java.util.Objects;

import io.kvmesh.prefix.blocks.BlockHasher;

/**
 * Per-sequence questions on top of the {@link BlockPool}: which prompt blocks are already cached, which blocks to
 * allocate for new tokens, which newly written blocks to enter into the prefix cache, and releasing a finished
 * sequence. Counts prefix-cache queries and hits in tokens, as vLLM's metrics do.
 *
 * <p>Not thread-safe: owned by the engine's scheduling thread.
 */
public final class KvCacheManager {

    private final BlockPool pool;
    private final BlockHasher hasher;
    private long queryTokens;
    private long hitTokens;

    public KvCacheManager(BlockPool pool, BlockHasher hasher) {
        if (pool.blockSize() != hasher.blockSize()) {
            throw new IllegalArgumentException("pool block size " + pool.blockSize()
                    + " differs from hasher block size " + hasher.blockSize());
        }
        this.pool = Objects.requireNonNull(pool, "pool");
        this.hasher = hasher;
    }

    public BlockPool pool() {
        return pool;
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
     * prompt token is always left to compute, because the model needs it to produce the next token's logits. Returns
     * null, changing nothing, when the pool lacks the blocks.
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
        int[] hits = new int[reusableBlocks];
        int hitCount = 0;
        int freeHits = 0;
        for (; hitCount < reusableBlocks; hitCount++) {
            int block = pool.lookup(hashes[hitCount], prompt, hitCount * blockSize);
            if (block < 0) {
                break;
            }
            hits[hitCount] = block;
            if (pool.refCount(block) == 0) {
                freeHits++;
            }
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
        sequence.addBlocks(java.util.Arrays.copyOf(hits, hitCount));
        sequence.addBlocks(pool.allocate(newBlocks));
        int cached = hitCount * blockSize;
        sequence.setComputedTokens(cached);
        sequence.setCachedPromptTokens(cached);
        queryTokens += prompt.length;
        hitTokens += cached;
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
    }

    /** Releases a finished (or preempted) sequence's blocks; cached ones stay reusable until evicted. */
    public void release(SequenceBlocks sequence) {
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
    private final java.util.Map<String, BlockHasher> saltedHashers = new java.util.HashMap<>();

    private int blocksFor(int tokens) {
        return (tokens + pool.blockSize() - 1) / pool.blockSize();
    }
}
