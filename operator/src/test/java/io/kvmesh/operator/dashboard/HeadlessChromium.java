package io.kvmesh.operator.dashboard;

import static org.assertj.core.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Debian's {@code chromium} in headless mode, one process per page load: {@code --dump-dom} prints the DOM after the
 * page's scripts ran for a budget of virtual time, {@code --screenshot} writes a PNG. Each run has its own profile
 * directory, so parallel runs do not share a lock.
 */
final class HeadlessChromium {

    private static final Duration PROCESS_TIMEOUT = Duration.ofSeconds(90);

    private final Path executable;

    private HeadlessChromium(Path executable) {
        this.executable = executable;
    }

    /** The installed chromium; fails the test (never skips it) when there is none. */
    static HeadlessChromium installed() {
        for (String candidate : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser")) {
            if (Files.isExecutable(Path.of(candidate))) {
                return new HeadlessChromium(Path.of(candidate));
            }
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "chromium"))) {
                return new HeadlessChromium(Path.of(dir, "chromium"));
            }
        }
        return fail("The dashboard test needs headless Chromium and found none on PATH: install the Debian package "
                + "'chromium' (./kvmesh test installs it; or: sudo apt-get install chromium).");
    }

    /** The page's DOM as serialized HTML ({@code stdout}) once its scripts had {@code budget} of virtual time. */
    Result dumpDom(String url, Duration budget) throws IOException, InterruptedException {
        return run(url, budget, List.of("--dump-dom"));
    }

    /** A {@code width}×{@code height} PNG of the page once its scripts had {@code budget} of virtual time. */
    void screenshot(String url, Duration budget, Path png, int width, int height) throws IOException, InterruptedException {
        Files.createDirectories(png.toAbsolutePath().getParent());
        Files.deleteIfExists(png);
        Result result = run(url, budget, List.of("--screenshot=" + png.toAbsolutePath(), "--hide-scrollbars",
                "--window-size=" + width + "," + height));
        if (!Files.isRegularFile(png)) {
            fail("chromium wrote no screenshot at " + png + ":\n" + result.stderr());
        }
    }

    /** What one run printed; {@code stderr} holds the page's console messages. */
    record Result(String stdout, String stderr) {

        /** The page's uncaught script errors, as chromium logged them. */
        List<String> uncaughtErrors() {
            return stderr.lines().filter(line -> line.contains(":CONSOLE") && line.contains("Uncaught")).toList();
        }
    }

    private Result run(String url, Duration budget, List<String> mode) throws IOException, InterruptedException {
        Path profile = Files.createTempDirectory("kvmesh-chromium-");
        Path out = profile.resolve("stdout.txt");
        Path err = profile.resolve("stderr.txt");
        List<String> command = new ArrayList<>(List.of(executable.toString(), "--headless=new", "--no-sandbox",
                "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
                "--enable-logging=stderr", "--user-data-dir=" + profile.resolve("profile"),
                "--virtual-time-budget=" + budget.toMillis()));
        command.addAll(mode);
        command.add(url);
        Process process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            if (!process.waitFor(PROCESS_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
                fail("chromium did not finish within " + PROCESS_TIMEOUT + " on " + url + ":\n" + Files.readString(err));
            }
            String stderr = Files.readString(err, StandardCharsets.UTF_8);
            if (process.exitValue() != 0) {
                fail("chromium exited with " + process.exitValue() + " on " + url + ":\n" + stderr);
            }
            return new Result(Files.readString(out, StandardCharsets.UTF_8), stderr);
        } finally {
            try (Stream<Path> files = Files.walk(profile)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
