package io.kvmesh.runtime.engine;

import java.util.ArrayDeque;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;

import io.kvmesh.runtime.lamps.MemoryTimeQueue;

/** The order in which waiting requests are admitted: by arrival, or by LAMPS' predicted memory × time. */
public interface WaitingQueue {

    void add(SequenceState sequence, long nowNanos);

    /** The next to admit, left in the queue; null when none waits. */
    SequenceState peek(long nowNanos);

    /** Removes what {@link #peek} returned. */
    SequenceState poll(long nowNanos);

    boolean removeIf(Predicate<SequenceState> filter);

    int size();

    /** First come, first served. */
    static WaitingQueue arrivalOrder() {
        ArrayDeque<SequenceState> queue = new ArrayDeque<>();
        return new WaitingQueue() {
            @Override
            public void add(SequenceState sequence, long nowNanos) {
                queue.addLast(sequence);
            }

            @Override
            public SequenceState peek(long nowNanos) {
                return queue.peekFirst();
            }

            @Override
            public SequenceState poll(long nowNanos) {
                return queue.pollFirst();
            }

            @Override
            public boolean removeIf(Predicate<SequenceState> filter) {
                return queue.removeIf(filter);
            }

            @Override
            public int size() {
                return queue.size();
            }
        };
    }

    /**
     * Least predicted memory × time first ({@code area}, computed once on arrival), oldest first once a request has
     * waited {@code starvationNanos}.
     */
    static WaitingQueue memoryTimeOrder(ToDoubleFunction<SequenceState> area, long starvationNanos) {
        MemoryTimeQueue<SequenceState> queue = new MemoryTimeQueue<>(starvationNanos);
        return new WaitingQueue() {
            @Override
            public void add(SequenceState sequence, long nowNanos) {
                queue.add(sequence, area.applyAsDouble(sequence), nowNanos);
            }

            @Override
            public SequenceState peek(long nowNanos) {
                return queue.peek(nowNanos);
            }

            @Override
            public SequenceState poll(long nowNanos) {
                return queue.poll(nowNanos);
            }

            @Override
            public boolean removeIf(Predicate<SequenceState> filter) {
                return queue.removeIf(filter::test);
            }

            @Override
            public int size() {
                return queue.size();
            }
        };
    }
}
