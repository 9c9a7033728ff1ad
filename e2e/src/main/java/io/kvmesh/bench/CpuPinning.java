package io.kvmesh.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Splits this machine's CPUs between the router and everything else with {@code taskset(1)}, every thread of each
 * process: in production the router has cores of its own, and on a small machine the load generator, the pod, the
 * cache index and the broker otherwise take the router's core in turns (the router's p99 then measures their
 * scheduling, not the router).
 */
record CpuPinning(String routerCpus, String otherCpus, String allCpus) {

    private static final Path TASKSET = Path.of("/usr/bin/taskset");

    /** The last CPU for the router, the rest for the others; empty with one CPU or without taskset. */
    static Optional<CpuPinning> routerApart() {
        int cpus = Runtime.getRuntime().availableProcessors();
        if (cpus < 2 || !Files.isExecutable(TASKSET)) {
            return Optional.empty();
        }
        return Optional.of(new CpuPinning(Integer.toString(cpus - 1), cpus == 2 ? "0" : "0-" + (cpus - 2), "0-" + (cpus - 1)));
    }

    void router(long pid) {
        pin(pid, routerCpus);
    }

    void other(long pid) {
        pin(pid, otherCpus);
    }

    /** Gives a process (this one, which outlives the mesh) every CPU again. */
    void release(long pid) {
        pin(pid, allCpus);
    }

    private static void pin(long pid, String cpus) {
        try {
            Process taskset = new ProcessBuilder(TASKSET.toString(), "--all-tasks", "-pc", cpus, Long.toString(pid))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!taskset.waitFor(10, TimeUnit.SECONDS) || taskset.exitValue() != 0) {
                throw new IllegalStateException("taskset could not place process " + pid + " on CPUs " + cpus);
            }
        } catch (IOException e) {
            throw new IllegalStateException("taskset could not run: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while pinning " + pid, e);
        }
    }

    String describe() {
        return "router alone on CPU " + routerCpus + "; generator, pod, cache index and Kafka on CPU " + otherCpus;
    }
}
