package io.kvmesh.runtime.engine;

/**
 * Where the engine reads the time: the system's monotonic clock when serving, or a simulation's virtual clock that
 * the {@code sim} backend advances by each iteration's modelled cost (a discrete-event run: no sleeping, the same
 * result on a busy machine as on an idle one).
 */
@FunctionalInterface
public interface EngineClock {

    EngineClock SYSTEM = System::nanoTime;

    /** Nanoseconds from an arbitrary origin, monotonic, as {@link System#nanoTime()}. */
    long nanoTime();
}
