package io.kvmesh.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** The Java forward pass on the third-party Llama-2 fixture, against an independent numpy implementation. */
class LlamaForwardTest {

    static final Path FIXTURE = Path.of("../../shared/fixtures/llama-2-tiny-random.gguf").toAbsolutePath().normalize();
    private static final Path REFERENCE = Path.of("src/test/python/llama_reference.py");
    private static LlamaModel model;

    @BeforeAll
    static void load() throws Exception {
        model = LlamaModel.load(FIXTURE);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** Dense cache for one sequence: position p in slot p. */
    private static float[][] denseLogits(LlamaForward forward, int[] tokens) {
        KvStore store = new KvStore(model.config().layers(), tokens.length, model.config().kvDim());
        float[][] all = new float[tokens.length][];
        for (int p = 0; p < tokens.length; p++) {
            all[p] = forward.forward(tokens[p], p, store, position -> position, true).clone();
        }
        return all;
    }

    @Test
    void logitsAndGreedyTokensMatchTheNumpyReference() throws Exception {
        int[] prompt = model.tokenizer().encode("Hello world, this is kvmesh", true);
        JsonNode reference = reference(prompt, 8);
        LlamaForward forward = new LlamaForward(model);
        float[] logits = denseLogits(forward, prompt)[prompt.length - 1];
        JsonNode expected = reference.get("logits");
        assertThat(logits).hasSize(expected.size());
        for (int i = 0; i < logits.length; i++) {
            assertThat((double) logits[i]).as("logit %d", i).isCloseTo(expected.get(i).asDouble(), org.assertj.core.data.Offset.offset(2e-4));
        }
        List<Integer> generated = new ArrayList<>();
        int[] sequence = prompt;
        for (int step = 0; step < 8; step++) {
            float[] last = denseLogits(forward, sequence)[sequence.length - 1];
            int next = 0;
            for (int i = 1; i < last.length; i++) {
                if (last[i] > last[next]) {
                    next = i;
                }
            }
            generated.add(next);
            sequence = Arrays.copyOf(sequence, sequence.length + 1);
            sequence[sequence.length - 1] = next;
        }
        List<Integer> expectedTokens = new ArrayList<>();
        reference.get("generated").forEach(n -> expectedTokens.add(n.asInt()));
        assertThat(generated).isEqualTo(expectedTokens);
    }

    @Test
    void pagedAttentionEqualsDenseExactly() {
        int[] tokens = model.tokenizer().encode("Paged attention reads K and V through a block table.", true);
        LlamaForward forward = new LlamaForward(model);
        float[][] dense = denseLogits(forward, tokens);
        int blockSize = 4;
        int[] table = {6, 1, 9, 3, 0, 7, 2, 8, 5, 4, 11, 10, 13, 12, 15, 14};
        KvStore paged = new KvStore(model.config().layers(), 16 * blockSize, model.config().kvDim());
        for (int p = 0; p < tokens.length; p++) {
            float[] logits = forward.forward(tokens[p], p, paged, position -> table[position / blockSize] * blockSize + position % blockSize, true);
            assertThat(logits).as("position %d", p).isEqualTo(dense[p]);
        }
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(value = io.kvmesh.model.gguf.GgmlType.class, names = {"F16", "BF16", "Q8_0", "Q4_0"})
    void generatedModelsOfEveryTypeMatchTheNumpyReference(io.kvmesh.model.gguf.GgmlType type,
                                                          @org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path file = dir.resolve("tiny-" + type + ".gguf");
        io.kvmesh.model.gen.ModelGenerator.write(io.kvmesh.model.gen.ModelShape.preset("tiny"), type, 7, file);
        try (LlamaModel generated = LlamaModel.load(file)) {
            int[] prompt = generated.tokenizer().encode("Quantized weights, computed in Java.", true);
            JsonNode reference = reference(file, prompt, 0);
            LlamaForward forward = new LlamaForward(generated);
            KvStore store = new KvStore(generated.config().layers(), prompt.length, generated.config().kvDim());
            float[] logits = null;
            for (int p = 0; p < prompt.length; p++) {
                logits = forward.forward(prompt[p], p, store, position -> position, p == prompt.length - 1);
            }
            // The batched kernels (four inputs per decoded block) give exactly the single-input results.
            KvStore batchStore = new KvStore(generated.config().layers(), prompt.length, generated.config().kvDim());
            KvStore.Slots[] slots = new KvStore.Slots[prompt.length];
            Arrays.fill(slots, (KvStore.Slots) position -> position);
            boolean[] want = new boolean[prompt.length];
            want[prompt.length - 1] = true;
            float[][] batched = forward.forward(prompt, java.util.stream.IntStream.range(0, prompt.length).toArray(), slots, want, batchStore);
            assertThat(batched[prompt.length - 1]).as("%s batched", type).isEqualTo(logits);
            JsonNode expected = reference.get("logits");
            assertThat(logits).hasSize(expected.size());
            for (int i = 0; i < logits.length; i++) {
                assertThat((double) logits[i]).as("%s logit %d", type, i)
                        .isCloseTo(expected.get(i).asDouble(), org.assertj.core.data.Offset.offset(1e-3));
            }
        }
    }

    /** RoPE scaling as real models carry it: Llama 3's rope_freqs tensor, and linear scaling metadata. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"llama3:8", "linear:4"})
    void ropeScalingMatchesTheNumpyReference(String scaling, @org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path file = dir.resolve("tiny-scaled.gguf");
        io.kvmesh.model.gen.ModelShape shape = io.kvmesh.model.gen.ModelShape.preset("tiny")
                .withRopeScaling(io.kvmesh.model.gen.RopeScaling.parse(scaling));
        io.kvmesh.model.gen.ModelGenerator.write(shape, io.kvmesh.model.gguf.GgmlType.F16, 7, file);
        try (LlamaModel generated = LlamaModel.load(file)) {
            int[] prompt = generated.tokenizer().encode("Rotary positions, stretched for long contexts.", true);
            JsonNode expected = reference(file, prompt, 0).get("logits");
            KvStore store = new KvStore(generated.config().layers(), prompt.length, generated.config().kvDim());
            float[] logits = new LlamaForward(generated).prefill(prompt, 0, prompt.length, store, position -> position, 64);
            for (int i = 0; i < logits.length; i++) {
                assertThat((double) logits[i]).as("%s logit %d", scaling, i)
                        .isCloseTo(expected.get(i).asDouble(), org.assertj.core.data.Offset.offset(1e-3));
            }
            // The scaling must change the result, or this test could not tell it was applied.
            Path plain = dir.resolve("tiny-plain.gguf");
            io.kvmesh.model.gen.ModelGenerator.write(io.kvmesh.model.gen.ModelShape.preset("tiny"), io.kvmesh.model.gguf.GgmlType.F16, 7, plain);
            try (LlamaModel unscaled = LlamaModel.load(plain)) {
                KvStore other = new KvStore(unscaled.config().layers(), prompt.length, unscaled.config().kvDim());
                assertThat(new LlamaForward(unscaled).prefill(prompt, 0, prompt.length, other, position -> position, 64)).isNotEqualTo(logits);
            }
        }
    }

    @Test
    void aWholePromptInOneBatchEqualsTokenByTokenExactly() {
        int[] tokens = model.tokenizer().encode("Batched prefill reads each weight matrix once for all tokens.", true);
        LlamaForward forward = new LlamaForward(model);
        float[][] single = denseLogits(forward, tokens);
        KvStore store = new KvStore(model.config().layers(), tokens.length, model.config().kvDim());
        int[] positions = java.util.stream.IntStream.range(0, tokens.length).toArray();
        KvStore.Slots[] slots = new KvStore.Slots[tokens.length];
        Arrays.fill(slots, (KvStore.Slots) position -> position);
        boolean[] want = new boolean[tokens.length];
        Arrays.fill(want, true);
        float[][] batched = forward.forward(tokens, positions, slots, want, store);
        for (int p = 0; p < tokens.length; p++) {
            assertThat(batched[p]).as("position %d", p).isEqualTo(single[p]);
        }
    }

    private static JsonNode reference(int[] tokens, int generate) throws Exception {
        return reference(FIXTURE, tokens, generate);
    }

    private static JsonNode reference(Path model, int[] tokens, int generate) throws Exception {
        boolean available = Files.isExecutable(Path.of("/usr/bin/python3"))
                && new ProcessBuilder("/usr/bin/python3", "-c", "import numpy").start().waitFor() == 0;
        String why = "python3-numpy (Debian package) is not installed; ./kvmesh test installs it";
        if ("required".equals(System.getProperty("io.kvmesh.reference-tools"))) {
            assertThat(available).as(why).isTrue();
        } else {
            assumeTrue(available, why);
        }
        String ids = String.join(",", Arrays.stream(tokens).mapToObj(String::valueOf).toList());
        Process python = new ProcessBuilder("/usr/bin/python3", REFERENCE.toString(), model.toString(), "--tokens", ids,
                "--generate", String.valueOf(generate)).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        byte[] output = python.getInputStream().readAllBytes();
        assertThat(python.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(python.exitValue()).isZero();
        return new ObjectMapper().readTree(output);
    }
}
