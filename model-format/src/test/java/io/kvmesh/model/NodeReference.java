package io.kvmesh.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs one of the independent reference implementations in {@code src/test/node} (npm packages pinned in its
 * package.json, installed by {@code ./kvmesh test}). Under {@code -Dio.kvmesh.reference-tools=required} (set by
 * {@code ./kvmesh test}) a missing node or package fails the test; otherwise the test is skipped with that reason.
 */
public final class NodeReference {

    public static final Path DIRECTORY = Path.of("src/test/node").toAbsolutePath();

    private NodeReference() {
    }

    public static void require() {
        boolean installed = Files.isDirectory(DIRECTORY.resolve("node_modules/@huggingface/gguf"))
                && Files.isDirectory(DIRECTORY.resolve("node_modules/@huggingface/jinja"))
                && Files.isDirectory(DIRECTORY.resolve("node_modules/llama-tokenizer-js"));
        boolean node;
        try {
            node = new ProcessBuilder("node", "--version").start().waitFor() == 0;
        } catch (IOException | InterruptedException e) {
            node = false;
        }
        String why = "the node reference implementations are not installed (node: " + node + ", packages: " + installed
                + "); ./kvmesh test installs them (npm ci in model-format/src/test/node)";
        if ("required".equals(System.getProperty("io.kvmesh.reference-tools"))) {
            assertThat(node && installed).as(why).isTrue();
        } else {
            assumeTrue(node && installed, why);
        }
    }

    /** Runs {@code node SCRIPT ARGS} with {@code input} on standard input; returns standard output. */
    public static String run(String script, String input, String... args) {
        require();
        List<String> command = new ArrayList<>(List.of("node", script));
        command.addAll(List.of(args));
        try {
            Process process = new ProcessBuilder(command).directory(DIRECTORY.toFile())
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            Thread feeder = Thread.ofVirtual().start(() -> {
                try (OutputStream in = process.getOutputStream()) {
                    in.write(input.getBytes(StandardCharsets.UTF_8));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            feeder.join();
            assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
            assertThat(process.exitValue()).as("node " + script + " exit code").isZero();
            return output;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
