package io.kvmesh.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;

/** Where the e2e tests find the project and keep each mesh's logs. */
public final class E2eRuns {

    private E2eRuns() {
    }

    /** The project's root (the e2e module's parent unless {@code io.kvmesh.root} says otherwise). */
    public static Path root() {
        return Path.of(System.getProperty("io.kvmesh.root", "..")).toAbsolutePath().normalize();
    }

    /** {@code target/e2e-runs/NAME}, emptied: the logs a failure leaves are this run's only. */
    public static Path freshDirectory(String name) throws IOException {
        Path runs = Path.of("target/e2e-runs", name).toAbsolutePath();
        if (Files.exists(runs)) {
            try (var files = Files.walk(runs)) {
                files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
            }
        }
        return runs;
    }
}
