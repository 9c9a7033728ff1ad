package io.kvmesh.runtime.engine;

import java.util.List;

/** The arithmetic of one iteration: {@code cpu}, {@code cuda}, or the {@code sim} cost model. */
public interface ForwardBackend {

    /** Computes the KV of the scheduled tokens (writing them into the sequences' blocks). */
    void forward(List<ScheduledChunk> chunks);

    /** The next token of a sequence whose tokens are all computed. */
    int sampleNext(SequenceState sequence);

    /** Whether {@code token} ends a generation: end of sequence, or end of turn (Llama 3's {@code <|eot_id|>}). */
    boolean endsGeneration(int token);

    /** Copies whole KV blocks of the device pool into blocks of the host pool (a swap-out). */
    default void copyToHost(int[] deviceBlocks, int[] hostBlocks) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " has no host tier");
    }

    /** Copies whole KV blocks of the host pool back into blocks of the device pool (a swap-in). */
    default void copyToDevice(int[] hostBlocks, int[] deviceBlocks) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " has no host tier");
    }

    /**
     * Returns once the copies asked for so far are done. A backend whose copies run asynchronously ({@code cuda})
     * waits here, so that timing a swap measures the transfer rather than its enqueueing.
     */
    default void finishCopies() {
    }
}
