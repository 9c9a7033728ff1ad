package io.kvmesh.kube.apiserver;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A small shell process that stops the server's processes if this JVM dies without closing them.
 *
 * <p>etcd and the Kubernetes binaries cannot watch their standard input the way the Kafka broker's child JVM does,
 * so one watchdog per server does it for them: it reads the process ids to guard from a pipe whose write end only
 * this JVM holds. When the JVM is gone, even after {@code kill -9}, the pipe reaches end of input and the watchdog
 * stops the guarded processes, last started first (the API server before etcd), with SIGTERM and after
 * {@value #STOP_SECONDS} s SIGKILL, then deletes the server's directory. A clean {@link KubeApiServer#close()} kills
 * the watchdog first, so it never acts on process ids that may since have been reused. It ignores SIGINT and SIGHUP:
 * a Ctrl-C reaches the server's processes directly, and the watchdog still cleans up once the JVM has exited.
 */
final class OrphanWatchdog implements AutoCloseable {

    static final int STOP_SECONDS = 10;

    private static final String SCRIPT = """
            trap '' INT HUP
            alive() { [ -e "/proc/$1" ] && [ "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]; }
            pids=""
            while read -r pid; do pids="$pid $pids"; done
            for pid in $pids; do
              kill -TERM "$pid" 2>/dev/null || continue
              i=0
              while alive "$pid" && [ "$i" -lt $((STOP_SECONDS * 10)) ]; do sleep 0.1; i=$((i + 1)); done
              alive "$pid" && kill -KILL "$pid" 2>/dev/null
            done
            [ -n "$1" ] && rm -rf -- "$1"
            """.replace("STOP_SECONDS", Integer.toString(STOP_SECONDS));

    private final Process process;
    private final OutputStream pids;

    private OrphanWatchdog(Process process) {
        this.process = process;
        this.pids = process.getOutputStream();
    }

    /** Starts a watchdog that deletes {@code directory} after stopping what it guards. */
    static OrphanWatchdog start(Path directory) {
        try {
            Process process = new ProcessBuilder("/bin/bash", "-c", SCRIPT, "kvmesh-kube-watchdog", directory.toString())
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            return new OrphanWatchdog(process);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the orphan watchdog (/bin/bash)", e);
        }
    }

    /** Adds a process to stop when this JVM dies; processes guarded later are stopped first. */
    synchronized void guard(Process guarded) {
        try {
            pids.write((guarded.pid() + "\n").getBytes(StandardCharsets.US_ASCII));
            pids.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("the orphan watchdog is gone", e);
        }
    }

    long pid() {
        return process.pid();
    }

    /** Kills the watchdog without letting it act: the owner stops its processes itself. */
    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
