package io.kvmesh.runtime.lamps;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;

/**
 * LAMPS' waiting queue: the request with the least predicted memory × time (the area under its KV-memory curve until
 * it finishes, {@link #area}) goes first, so short, small requests do not queue behind ones that will hold many blocks
 * for long; a request that has waited longer than {@code starvationNanos} goes first regardless (oldest first), so no
 * request waits forever. Ties keep arrival order. Not thread-safe: the engine loop owns it.
 */
public final class MemoryTimeQueue<T> {

    private static final class Entry<T> {
        final T item;
        final double area;
        final long arrivedNanos;
        final long order;
        boolean taken;

        Entry(T item, double area, long arrivedNanos, long order) {
            this.item = item;
            this.area = area;
            this.arrivedNanos = arrivedNanos;
            this.order = order;
        }
    }

    private final long starvationNanos;
    private final TreeSet<Entry<T>> byArea = new TreeSet<>(
            Comparator.<Entry<T>>comparingDouble(e -> e.area).thenComparingLong(e -> e.order));
    private final ArrayDeque<Entry<T>> byArrival = new ArrayDeque<>();
    private long added;
    private int size;
    private long promoted;

    public MemoryTimeQueue(long starvationNanos) {
        if (starvationNanos <= 0) {
            throw new IllegalArgumentException("starvationNanos must be positive");
        }
        this.starvationNanos = starvationNanos;
    }

    /**
     * Predicted KV byte·seconds of a request that holds {@code contextTokens} now and will generate
     * {@code predictedOutputTokens} more, one per {@code secondsPerToken}: {@code M · t · Σ_k (C + k)}.
     */
    public static double area(long contextTokens, long predictedOutputTokens, double secondsPerToken, double kvBytesPerToken) {
        double n = Math.max(0, predictedOutputTokens);
        return kvBytesPerToken * secondsPerToken * (n * contextTokens + n * (n + 1) / 2);
    }

    public void add(T item, double area, long nowNanos) {
        Entry<T> entry = new Entry<>(item, area, nowNanos, added++);
        byArea.add(entry);
        byArrival.addLast(entry);
        size++;
    }

    /** The next request to admit, or null when none waits. */
    public T poll(long nowNanos) {
        Entry<T> next = next(nowNanos);
        if (next == null) {
            return null;
        }
        if (next != byArea.first()) {
            promoted++;
        }
        take(next);
        return next.item;
    }

    /** What {@link #poll} would return now, left in the queue. */
    public T peek(long nowNanos) {
        Entry<T> next = next(nowNanos);
        return next == null ? null : next.item;
    }

    /** Removes every waiting request that matches; returns whether any did. */
    public boolean removeIf(java.util.function.Predicate<T> filter) {
        boolean removed = false;
        for (Entry<T> entry : byArrival) {
            if (!entry.taken && filter.test(entry.item)) {
                entry.taken = true;
                byArea.remove(entry);
                size--;
                removed = true;
            }
        }
        dropTaken();
        return removed;
    }

    private Entry<T> next(long nowNanos) {
        dropTaken();
        Entry<T> oldest = byArrival.peekFirst();
        if (oldest == null) {
            return null;
        }
        return nowNanos - oldest.arrivedNanos >= starvationNanos ? oldest : byArea.first();
    }

    /** The first {@code n} requests {@link #poll} would return, in that order, left in the queue. */
    public List<T> first(int n, long nowNanos) {
        dropTaken();
        List<T> items = new ArrayList<>(Math.min(n, size));
        for (Entry<T> entry : byArrival) {
            if (items.size() == n || nowNanos - entry.arrivedNanos < starvationNanos) {
                break;
            }
            if (!entry.taken) {
                items.add(entry.item);
            }
        }
        for (Entry<T> entry : byArea) {
            if (items.size() == n) {
                break;
            }
            if (nowNanos - entry.arrivedNanos < starvationNanos) {
                items.add(entry.item);
            }
        }
        return items;
    }

    private void take(Entry<T> entry) {
        entry.taken = true;
        byArea.remove(entry);
        size--;
        dropTaken();
    }

    public int size() {
        return size;
    }

    /** Requests that went first because they had waited too long, not because they were smallest. */
    public long promoted() {
        return promoted;
    }

    private void dropTaken() {
        while (!byArrival.isEmpty() && byArrival.peekFirst().taken) {
            byArrival.removeFirst();
        }
    }
}
