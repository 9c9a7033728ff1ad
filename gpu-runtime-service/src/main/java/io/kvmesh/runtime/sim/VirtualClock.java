package io.kvmesh.runtime.sim;

import io.kvmesh.runtime.engine.EngineClock;

/**
 * Simulated time for a discrete-event run: it moves only when told, by the {@link SimBackend} spending an iteration's
 * modelled cost or by the driver jumping to its next event. One thread owns a run (the driver stepping the engine),
 * so reads and advances need no more than a volatile field for other threads that merely look.
 */
public final class VirtualClock implements EngineClock {

    private volatile long nanos;

    @Override
    public long nanoTime() {
        return nanos;
    }

    /** Moves the time on by {@code delta} nanoseconds. */
    public void advance(long delta) {
        if (delta < 0) {
            throw new IllegalArgumentException("time does not run backwards: " + delta);
        }
        nanos += delta;
    }

    /** Moves the time on to {@code target}, or leaves it where it is when that is not later. */
    public void advanceTo(long target) {
        if (target > nanos) {
            nanos = target;
        }
    }
}
