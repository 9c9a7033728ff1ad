package io.kvmesh.prefix.blocks;

import java.nio.charset.StandardCharsets;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Objects;

import net.openhft.hashing.LongHashFunction;

/**
 * Block identity, the contract between runtime, index and router (ARCHITECTURE.md "Block identity").
 *
 * <pre>
 * root = XXH3_64(utf8("kvmesh-v1\0" + modelId + "\0" + cacheSalt))
 * h_i  = XXH3_64(le64(h_{i-1}) ++ le32(t_{iB}) ++ ... ++ le32(t_{iB+B-1}))
 * </pre>
 *
 * Hashes are unsigned 64-bit values carried in a {@code long}. Token ids are unsigned 32-bit values carried in an
 * {@code int} (its bits are the little-endian word that is hashed); {@link #tokenId(long)} converts and checks
 * ids that arrive as wider numbers. Only full blocks are hashed: a partial last block has no identity.
 * Instances are immutable and thread-safe.
 */
public final class BlockHasher {

    /** Largest block size accepted; real engines use 1 to 256 tokens per block. */
    public static final int MAX_BLOCK_SIZE = 4096;

    private static final LongHashFunction XXH3 = LongHashFunction.xx3();
    private static final String DOMAIN = "kvmesh-v1";
    private static final long MAX_TOKEN_ID = 0xFFFF_FFFFL;

    private final String modelId;
    private final String cacheSalt;
    private final int blockSize;
    private final long rootHash;

    /**
     * @param modelId   the model (LoRA adapters and other variants are part of it); not empty
     * @param cacheSalt the tenant's salt, empty when the pool has no tenants
     * @param blockSize tokens per block, 1 to {@link #MAX_BLOCK_SIZE}
     */
    public BlockHasher(String modelId, String cacheSalt, int blockSize) {
        Objects.requireNonNull(modelId, "modelId");
        Objects.requireNonNull(cacheSalt, "cacheSalt");
        if (modelId.isEmpty()) {
            throw new IllegalArgumentException("modelId must not be empty");
        }
        // NUL separates the fields of the root; allowing it would let ("a\0b", "") and ("a", "b") collide.
        if (modelId.indexOf('\0') >= 0 || cacheSalt.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("modelId and cacheSalt must not contain a NUL character");
        }
        if (blockSize < 1 || blockSize > MAX_BLOCK_SIZE) {
            throw new IllegalArgumentException(
                    "block size must be between 1 and " + MAX_BLOCK_SIZE + " tokens, got " + blockSize);
        }
        this.modelId = modelId;
        this.cacheSalt = cacheSalt;
        this.blockSize = blockSize;
        this.rootHash = XXH3.hashBytes((DOMAIN + '\0' + modelId + '\0' + cacheSalt).getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The salt of a request that brings its own ({@code cache_salt}, or its tenant's) in a pool that may have one:
     * either alone when the other is empty, else {@code pool + "/" + request}. Runtime and router both use this, so
     * their roots agree.
     */
    public static String combinedSalt(String poolSalt, String requestSalt) {
        if (requestSalt == null || requestSalt.isEmpty()) {
            return poolSalt;
        }
        return poolSalt.isEmpty() ? requestSalt : poolSalt + "/" + requestSalt;
    }

    public String modelId() {
        return modelId;
    }

    public String cacheSalt() {
        return cacheSalt;
    }

    public int blockSize() {
        return blockSize;
    }

    /** The parent of the first block. */
    public long rootHash() {
        return rootHash;
    }

    /** Number of full blocks in a sequence of {@code tokenCount} tokens. */
    public int fullBlocks(int tokenCount) {
        return tokenCount / blockSize;
    }

    /** Hashes of every full block of {@code tokenIds}, in order; a partial last block is ignored. */
    public long[] hashFullBlocks(int[] tokenIds) {
        return hashFullBlocks(tokenIds, tokenIds.length);
    }

    /** Hashes of the full blocks among the first {@code tokenCount} tokens of {@code tokenIds}. */
    public long[] hashFullBlocks(int[] tokenIds, int tokenCount) {
        Objects.checkFromIndexSize(0, tokenCount, tokenIds.length);
        long[] hashes = new long[fullBlocks(tokenCount)];
        byte[] buffer = newBlockBuffer();
        long parent = rootHash;
        for (int block = 0; block < hashes.length; block++) {
            parent = hashBlock(parent, tokenIds, block * blockSize, buffer);
            hashes[block] = parent;
        }
        return hashes;
    }

    /** The hash of the block of {@code blockSize} tokens starting at {@code offset}, chained to {@code parentHash}. */
    public long hashBlock(long parentHash, int[] tokenIds, int offset) {
        Objects.checkFromIndexSize(offset, blockSize, tokenIds.length);
        return hashBlock(parentHash, tokenIds, offset, newBlockBuffer());
    }

    private byte[] newBlockBuffer() {
        return new byte[Long.BYTES + Integer.BYTES * blockSize];
    }

    private long hashBlock(long parentHash, int[] tokenIds, int offset, byte[] buffer) {
        LittleEndian.putLong(buffer, 0, parentHash);
        for (int i = 0; i < blockSize; i++) {
            LittleEndian.putInt(buffer, Long.BYTES + Integer.BYTES * i, tokenIds[offset + i]);
        }
        return XXH3.hashBytes(buffer);
    }

    /** Converts a token id given as a number into its 32-bit form, rejecting values outside 0..2^32-1. */
    public static int tokenId(long value) {
        if (value < 0 || value > MAX_TOKEN_ID) {
            throw new IllegalArgumentException("token id " + value + " is outside 0.." + MAX_TOKEN_ID);
        }
        return (int) value;
    }

    /** The unsigned value of a token id carried in an {@code int}. */
    public static long tokenIdValue(int tokenId) {
        return Integer.toUnsignedLong(tokenId);
    }

    @Override
    public String toString() {
        return "BlockHasher[modelId=" + modelId + ", salted=" + !cacheSalt.isEmpty() + ", blockSize=" + blockSize + "]";
    }

    /** Little-endian stores into a byte array, without a ByteBuffer per block. */
    private static final class LittleEndian {
        private static final VarHandle LONG =
                MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
        private static final VarHandle INT =
                MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

        static void putLong(byte[] buffer, int offset, long value) {
            LONG.set(buffer, offset, value);
        }

        static void putInt(byte[] buffer, int offset, int value) {
            INT.set(buffer, offset, value);
        }
    }
}
