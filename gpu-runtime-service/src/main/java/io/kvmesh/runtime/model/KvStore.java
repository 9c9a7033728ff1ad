package io.kvmesh.runtime.model;

/**
 * The key and value vectors of every KV slot, per layer: slot {@code s} of layer {@code l} holds
 * {@code kvDim} floats at {@code s * kvDim}. A paged cache has {@code blocks × blockSize} slots addressed through
 * block tables; a dense one has one slot per position of a single sequence.
 */
public final class KvStore {

    final float[][] keys;
    final float[][] values;
    final int kvDim;
    final int slots;

    public KvStore(int layers, int slots, int kvDim) {
        long floats = (long) slots * kvDim;
        if (floats > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("KV cache of " + slots + " slots × " + kvDim + " floats per layer is too large for one array");
        }
        this.keys = new float[layers][(int) floats];
        this.values = new float[layers][(int) floats];
        this.kvDim = kvDim;
        this.slots = slots;
    }

    /** Bytes held (keys and values, all layers). */
    public long bytes() {
        return 2L * keys.length * slots * kvDim * Float.BYTES;
    }

    /** Where a sequence's position lives in the store. */
    @FunctionalInterface
    public interface Slots {
        int slot(int position);
    }
}
