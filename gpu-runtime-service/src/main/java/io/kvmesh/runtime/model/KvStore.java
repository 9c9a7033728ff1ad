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

    /**
     * Copies the K and V of {@code count} consecutive slots of every layer from this store into {@code target} (a swap
     * between the device pool and the host pool: an exact copy, so a swapped-in block reads as it was written).
     */
    public void copySlots(int fromSlot, KvStore target, int toSlot, int count) {
        if (target.kvDim != kvDim || target.keys.length != keys.length) {
            throw new IllegalArgumentException("stores of different shapes");
        }
        int length = count * kvDim;
        for (int layer = 0; layer < keys.length; layer++) {
            System.arraycopy(keys[layer], fromSlot * kvDim, target.keys[layer], toSlot * kvDim, length);
            System.arraycopy(values[layer], fromSlot * kvDim, target.values[layer], toSlot * kvDim, length);
        }
    }

    /** Where a sequence's position lives in the store. */
    @FunctionalInterface
    public interface Slots {
        int slot(int position);
    }
}
