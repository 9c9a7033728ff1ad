package io.kvmesh.runtime.sim;

import java.util.List;
import java.util.concurrent.locks.LockSupport;

import io.kvmesh.model.tokenizer.ByteTokenizer;
import io.kvmesh.runtime.engine.ForwardBackend;
import io.kvmesh.runtime.engine.ScheduledChunk;
import io.kvmesh.runtime.engine.SequenceState;

/**
 * The {@code sim} backend: no arithmetic. An iteration takes the time {@link SimCostModel} gives it, so time to first
 * token really depends on how much of the prompt was cached; the next token is a deterministic function of the
 * sequence so far (lowercase letters and spaces of the byte tokenizer), and it never emits end-of-sequence. With a
 * {@link VirtualClock} the time is simulated rather than spent.
 */
public final class SimBackend implements ForwardBackend {

    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private final SimCostModel cost;
    private final int blockSize;
    /** Null: costs are spent in wall time. */
    private final VirtualClock clock;

    public SimBackend(SimCostModel cost) {
        this(cost, 16);
    }

    /** @param blockSize tokens per block, what a block copy between the tiers is priced by */
    public SimBackend(SimCostModel cost, int blockSize) {
        this(cost, blockSize, null);
    }

    /**
     * A backend whose costs move {@code clock} on instead of taking wall time (a discrete-event run: the engine is
     * timed by the same clock and stepped by its driver).
     */
    public SimBackend(SimCostModel cost, int blockSize, VirtualClock clock) {
        this.cost = cost;
        this.blockSize = blockSize;
        this.clock = clock;
    }

    @Override
    public void copyToHost(int[] deviceBlocks, int[] hostBlocks) {
        take(cost.swapNanos(deviceBlocks.length * blockSize));
    }

    @Override
    public void copyToDevice(int[] hostBlocks, int[] deviceBlocks) {
        take(cost.swapNanos(hostBlocks.length * blockSize));
    }

    /** Spends {@code nanos} of wall time, as the real arithmetic would (or of virtual time). */
    private void take(long nanos) {
        if (clock != null) {
            clock.advance(nanos);
            return;
        }
        long deadline = System.nanoTime() + nanos;
        for (long left = nanos; left > 0; left = deadline - System.nanoTime()) {
            LockSupport.parkNanos(left);
        }
    }

    @Override
    public void forward(List<ScheduledChunk> chunks) {
        int prefill = 0;
        int decoding = 0;
        for (ScheduledChunk chunk : chunks) {
            if (chunk.prefill()) {
                prefill += chunk.tokens();
            } else {
                decoding++;
            }
        }
        take(cost.iterationNanos(prefill, decoding));
    }

    @Override
    public int sampleNext(SequenceState sequence) {
        long state = sequence.tokenCount() * GOLDEN;
        for (int i = Math.max(0, sequence.tokenCount() - 8); i < sequence.tokenCount(); i++) {
            state = Long.rotateLeft(state ^ sequence.token(i) * GOLDEN, 23) * GOLDEN;
        }
        int pick = (int) Long.remainderUnsigned(state ^ (state >>> 29), 32);
        return ByteTokenizer.byteToken(pick < 26 ? 'a' + pick : ' ');
    }

    @Override
    public boolean endsGeneration(int token) {
        return false;
    }
}
