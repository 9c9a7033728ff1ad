package io.kvmesh.runtime.kv;

import java.util.Arrays;

import it.unimi.dsi.fastutil.ints.IntArrayList;

/**
 * One sequence's view of the KV cache: its token ids (prompt, then generated), its block table (logical block i →
 * physical block), how many tokens have their KV written ({@link #computedTokens()}), and how many leading full
 * blocks are hashed into the prefix cache. Created and changed only by {@link KvCacheManager}.
 */
public final class SequenceBlocks {

    private final String id;
    private int[] tokens;
    private int tokenCount;
    private final IntArrayList blockTable = new IntArrayList();
    private int computedTokens;
    private int cachedPromptTokens;
    private int hashedBlocks;
    private long lastHash;

    private final long rootHash;
    /**
     * Hashes of the prompt's full blocks this sequence computes itself (none cached at admission), registered with
     * {@link KvCacheManager} as in flight until written; {@code inFlightFirstBlock} is the first one's block index,
     * {@code inFlightSettled} how many are written (or given up) so far.
     */
    long[] inFlightHashes = new long[0];
    int inFlightFirstBlock;
    int inFlightSettled;

    SequenceBlocks(String id, int[] prompt, long rootHash) {
        this.id = id;
        this.tokens = Arrays.copyOf(prompt, Math.max(16, prompt.length * 2));
        this.tokenCount = prompt.length;
        this.lastHash = rootHash;
        this.rootHash = rootHash;
    }

    /** The parent of the sequence's first block: the model's and its salt's root. */
    long rootHash() {
        return rootHash;
    }

    public String id() {
        return id;
    }

    /** Tokens in the sequence (prompt and generated so far). */
    public int tokenCount() {
        return tokenCount;
    }

    public int token(int position) {
        if (position >= tokenCount) {
            throw new IndexOutOfBoundsException(position);
        }
        return tokens[position];
    }

    /** Tokens whose KV is in the cache, reused or computed. */
    public int computedTokens() {
        return computedTokens;
    }

    /** Prompt tokens that were found in the prefix cache at admission and need no computation. */
    public int cachedPromptTokens() {
        return cachedPromptTokens;
    }

    /** Physical block holding logical block {@code index}. */
    public int block(int index) {
        return blockTable.getInt(index);
    }

    public int blockCount() {
        return blockTable.size();
    }

    /** The block table as an array, in sequence order. */
    public int[] blocks() {
        return blockTable.toIntArray();
    }

    int[] tokenArray() {
        return tokens;
    }

    void appendToken(int token) {
        if (tokenCount == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[tokenCount++] = token;
    }

    void addBlocks(int[] blocks) {
        blockTable.addElements(blockTable.size(), blocks);
    }

    void setComputedTokens(int computed) {
        this.computedTokens = computed;
    }

    void setCachedPromptTokens(int cached) {
        this.cachedPromptTokens = cached;
    }

    int hashedBlocks() {
        return hashedBlocks;
    }

    long lastHash() {
        return lastHash;
    }

    void hashed(long hash) {
        lastHash = hash;
        hashedBlocks++;
    }

    void clearBlocks() {
        blockTable.clear();
        computedTokens = 0;
        hashedBlocks = 0;
    }

    void resetChain(long rootHash) {
        lastHash = rootHash;
    }
}
