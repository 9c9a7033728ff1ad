package io.kvmesh.runtime.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
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

    /** The first {@code n} requests in the order {@link #poll} would return them, left in the queue. */
    List<SequenceState> first(int n, long nowNanos);

    /** Removes {@code sequence} (taken out of order, e.g. because its prefix is cached). */
    default boolean remove(SequenceState sequence) {
        return removeIf(queued -> queued == sequence);
    }

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
            public List<SequenceState> first(int n, long nowNanos) {
                List<SequenceState> items = new ArrayList<>(Math.min(n, queue.size()));
                for (SequenceState sequence : queue) {
                    if (items.size() == n) {
                        break;
                    }
                    items.add(sequence);
                }
                return items;
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
            public List<SequenceState> first(int n, long nowNanos) {
                return queue.first(n, nowNanos);
            }

            @Override
            public int size() {
                return queue.size();
            }
        };
    }
}
