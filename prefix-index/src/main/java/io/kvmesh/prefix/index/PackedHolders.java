package io.kvmesh.prefix.index;

/**
 * Up to four holders of one block, each a pod slot with its tier bits, packed into one {@code long}: the index keeps
 * them as the value of a primitive map, so following a request along its blocks costs one map probe per block
 * whatever the number of candidate pods (a probe per pod per block before: 3x the cache misses at three holders).
 *
 * <p>Each 16-bit lane holds {@code slot + 1} in its low 14 bits and the tier bits in its top 2; a zero lane is free.
 * A block held by more pods is marked {@link #CROWDED} and its holders live in a side table as {@code slot << 2 | tiers}.
 */
final class PackedHolders {

    /** The packed value of a block with more than {@link #LANES} holders; no four real lanes can spell it. */
    static final long CROWDED = -1L;
    static final int LANES = 4;
    /** Slots above this do not fit a lane's 14 bits (0x3FFF + tiers 3 in every lane would spell {@link #CROWDED}). */
    static final int MAX_SLOT = 0x3FFD;

    private static final int SLOT_BITS = 0x3FFF;

    private PackedHolders() {
    }

    /** The tier bits {@code slot} has in {@code packed}; 0 when it is not a holder. */
    static int tiersOf(long packed, int slot) {
        int key = slot + 1;
        for (int lane = 0; lane < LANES; lane++) {
            int entry = lane(packed, lane);
            if ((entry & SLOT_BITS) == key) {
                return entry >>> 14;
            }
        }
        return 0;
    }

    /** The tier bits {@code slot} has in a crowded block's holder list; 0 when it is not a holder. */
    static int tiersOf(int[] crowded, int slot) {
        for (int holder : crowded) {
            if (holder >>> 2 == slot) {
                return holder & 3;
            }
        }
        return 0;
    }

    /** The lane holding {@code slot}, or -1. */
    static int laneOf(long packed, int slot) {
        int key = slot + 1;
        for (int lane = 0; lane < LANES; lane++) {
            if ((lane(packed, lane) & SLOT_BITS) == key) {
                return lane;
            }
        }
        return -1;
    }

    /** A lane that is free, or -1 when all four hold a pod. */
    static int freeLane(long packed) {
        for (int lane = 0; lane < LANES; lane++) {
            if (lane(packed, lane) == 0) {
                return lane;
            }
        }
        return -1;
    }

    /** {@code packed} with {@code lane} set to {@code slot}'s tiers, or freed when {@code tiers} is 0. */
    static long withLane(long packed, int lane, int slot, int tiers) {
        long entry = tiers == 0 ? 0 : (long) ((tiers << 14) | (slot + 1));
        int shift = lane * 16;
        return (packed & ~(0xFFFFL << shift)) | (entry << shift);
    }

    /** The holders of a packed block as {@code slot << 2 | tiers}, lane order. */
    static int[] unpack(long packed) {
        int[] holders = new int[LANES];
        int count = 0;
        for (int lane = 0; lane < LANES; lane++) {
            int entry = lane(packed, lane);
            if (entry != 0) {
                holders[count++] = ((entry & SLOT_BITS) - 1) << 2 | entry >>> 14;
            }
        }
        return java.util.Arrays.copyOf(holders, count);
    }

    /** Holders given as {@code slot << 2 | tiers}, at most {@link #LANES} of them, packed. */
    static long pack(int[] holders) {
        long packed = 0;
        for (int i = 0; i < holders.length; i++) {
            packed = withLane(packed, i, holders[i] >>> 2, holders[i] & 3);
        }
        return packed;
    }

    private static int lane(long packed, int lane) {
        return (int) (packed >>> (lane * 16)) & 0xFFFF;
    }
}
