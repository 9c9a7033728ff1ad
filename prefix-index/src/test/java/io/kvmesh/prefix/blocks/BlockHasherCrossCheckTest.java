package io.kvmesh.prefix.blocks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Differential test against the independent Python implementation (python3-xxhash) on random input: random model
 * ids and salts (with non-ASCII text), block sizes, token ids across the whole 32-bit range, partial blocks.
 *
 * <p>{@code ./kvmesh test} installs python3-xxhash and sets {@code -Dio.kvmesh.reference-tools=required}, so there
 * this test fails rather than skips when the reference is missing. A bare {@code ./mvnw verify} on a machine
 * without it skips with that reason.
 */
class BlockHasherCrossCheckTest {

    private static final Path REFERENCE = Path.of("src/test/python/block_hash_reference.py");
    private static final String PYTHON = "/usr/bin/python3";

    @Test
    void equalsThePythonReferenceOnRandomInput() throws Exception {
        requireReference();
        Random random = new Random(20261125);
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            cases.add(Case.random(random));
        }
        List<String> expected = runReference(cases);
        assertThat(expected).hasSize(cases.size());
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            long[] hashes = new BlockHasher(c.model, c.salt, c.blockSize).hashFullBlocks(c.tokens);
            List<String> actual = new ArrayList<>();
            for (long hash : hashes) {
                actual.add(BlockHashFormat.format(hash));
            }
            assertThat(String.join(" ", actual)).as("case %d: %s", i, c).isEqualTo(expected.get(i));
        }
    }

    private static void requireReference() throws Exception {
        boolean available = Files.isExecutable(Path.of(PYTHON))
                && new ProcessBuilder(PYTHON, "-c", "import xxhash").start().waitFor() == 0;
        String why = "python3-xxhash (Debian package) is not installed; ./kvmesh test installs it";
        if ("required".equals(System.getProperty("io.kvmesh.reference-tools"))) {
            assertThat(available).as(why).isTrue();
        } else {
            assumeTrue(available, why);
        }
    }

    private static List<String> runReference(List<Case> cases) throws IOException, InterruptedException {
        ObjectMapper json = new ObjectMapper();
        Process python = new ProcessBuilder(PYTHON, REFERENCE.toString(), "--batch")
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        Thread feeder = Thread.ofVirtual().start(() -> {
            try (OutputStream in = python.getOutputStream()) {
                for (Case c : cases) {
                    long[] unsigned = new long[c.tokens.length];
                    for (int i = 0; i < unsigned.length; i++) {
                        unsigned[i] = BlockHasher.tokenIdValue(c.tokens[i]);
                    }
                    in.write(json.writeValueAsBytes(java.util.Map.of(
                            "model", c.model, "salt", c.salt, "blockSize", c.blockSize, "tokens", unsigned)));
                    in.write('\n');
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        List<String> lines = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(python.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                lines.add(line);
            }
        }
        feeder.join();
        assertThat(python.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(python.exitValue()).isZero();
        return lines;
    }

    private record Case(String model, String salt, int blockSize, int[] tokens) {
        private static final String ALPHABET = "abcXYZ019-_/.:éüλ租户🙂";

        static Case random(Random random) {
            int blockSize = new int[] {1, 2, 3, 8, 16, 32, 64, 128}[random.nextInt(8)];
            int[] tokens = new int[random.nextInt(blockSize * 6 + 1)];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = random.nextInt(4) == 0 ? random.nextInt() : random.nextInt(160_000);
            }
            return new Case(text(random, 1 + random.nextInt(30)), random.nextBoolean() ? "" : text(random, 1 + random.nextInt(20)),
                    blockSize, tokens);
        }

        private static String text(Random random, int length) {
            int[] codePoints = ALPHABET.codePoints().toArray();
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < length; i++) {
                text.appendCodePoint(codePoints[random.nextInt(codePoints.length)]);
            }
            return text.toString();
        }

        @Override
        public String toString() {
            return "model=" + model + " salt=" + salt + " blockSize=" + blockSize + " tokens=" + tokens.length;
        }
    }
}
