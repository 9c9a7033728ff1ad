package io.kvmesh.runtime.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.kvmesh.model.gen.ModelGenerator;
import io.kvmesh.model.gen.ModelShape;
import io.kvmesh.model.gen.RopeScaling;
import io.kvmesh.model.gguf.GgmlType;
import io.kvmesh.prefix.blocks.BlockHasher;
import io.kvmesh.runtime.cpu.CpuBackend;
import io.kvmesh.runtime.engine.Engine;
import io.kvmesh.runtime.engine.ForwardBackend;
import io.kvmesh.runtime.engine.GenerationRequest;
import io.kvmesh.runtime.engine.RecordingSink;
import io.kvmesh.runtime.engine.Scheduler;
import io.kvmesh.runtime.kv.BlockPool;
import io.kvmesh.runtime.kv.KvCacheManager;
import io.kvmesh.runtime.kv.KvEventSink;
import io.kvmesh.runtime.model.KvStore;
import io.kvmesh.runtime.model.LlamaForward;
import io.kvmesh.runtime.model.LlamaModel;

/**
 * The cuda backend against the cpu backend, on a device ({@link CudaBackendTest}: the GPU; {@link
 * EmulatedCudaBackendTest}: the kernels compiled for the cpu). Tolerance: every logit within {@value #TOLERANCE} × (1 + the largest logit magnitude) of the cpu's — both backends
 * compute in float32 from the same dequantized weights and differ only in summation order.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class CudaBackendChecks {

    /** A backend on the device under test. */
    abstract CudaBackend backend(LlamaModel model, int blocks, int hostBlocks);

    /** Tokens of the long prompt of the tensor-type check (over 256: decode attention splits into parts). */
    int longPrompt() {
        return 600;
    }

    /** Tokens of the paged-equals-dense check's prompt. */
    int pagedPrompt() {
        return 300;
    }

    /** The weight storage types the backend is checked with. */
    Stream<GgmlType> tensorTypes() {
        return Stream.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0);
    }


    static final double TOLERANCE = 1e-3;
    /** The third-party Llama-2 fixture; {@code -Dkvmesh.fixture} where shared/ is not beside the checkout (the GPU machine). */
    static final Path FIXTURE = Path.of(System.getProperty("kvmesh.fixture", "../../shared/fixtures/llama-2-tiny-random.gguf"))
            .toAbsolutePath().normalize();
    private static final int BLOCK = 16;

    @TempDir
    static Path models;

    /** GQA (4 query heads on 2 KV heads) and a head dimension of 80: lanes hold 3 dims, the last partly. */
    private static LlamaModel generated(GgmlType type) throws Exception {
        ModelShape shape = new ModelShape("parity", 320, 2, 4, 2, 512, 4096, 500_000f, 100_352, false, RopeScaling.NONE);
        Path file = models.resolve("parity-" + type + ".gguf");
        if (!Files.exists(file)) {
            ModelGenerator.write(shape, type, 7, file);
        }
        return LlamaModel.load(file);
    }

    private static int[] randomTokens(int count, int vocab, long seed) {
        return new Random(seed).ints(count, 3, vocab).toArray();
    }

    /** A block table of consecutive blocks from {@code first}. */
    private static int[] table(int first, int positions) {
        int[] table = new int[(positions + BLOCK - 1) / BLOCK];
        Arrays.setAll(table, i -> first + i);
        return table;
    }

    private static KvStore.Slots slotsOf(int[] table) {
        return position -> table[position / BLOCK] * BLOCK + position % BLOCK;
    }

    private static void assertClose(float[] cuda, float[] cpu, String what) {
        double largest = 0;
        double worst = 0;
        for (int i = 0; i < cpu.length; i++) {
            largest = Math.max(largest, Math.abs(cpu[i]));
            worst = Math.max(worst, Math.abs(cuda[i] - cpu[i]));
        }
        assertThat(cuda).as(what).hasSameSizeAs(cpu);
        assertThat(worst).as("%s: largest |cuda - cpu| logit difference (largest logit %.3f)", what, largest)
                .isLessThanOrEqualTo(TOLERANCE * (1 + largest));
    }

    @ParameterizedTest
    @MethodSource("tensorTypes")
    void logitsMatchTheCpuBackendForEveryTensorType(GgmlType type) throws Exception {
        try (LlamaModel model = generated(type); CudaBackend cuda = backend(model, 128, 0)) {
            LlamaForward cpu = new LlamaForward(model);
            KvStore store = new KvStore(model.config().layers(), 128 * BLOCK, model.config().kvDim());
            // Sequence A: a longPrompt()-token prompt in chunks of 100 (prefill tiles), then decode steps (attention split
            // into parts).
            // Sequence B: decodes in the same batches as A's chunks, so every batch mixes both kernels.
            int[] promptA = randomTokens(longPrompt(), model.config().vocab(), 1);
            int[] tableA = table(0, 640);
            int[] tableB = table(60, 640);
            int[] promptB = randomTokens(40, model.config().vocab(), 2);
            // B's prompt first, alone.
            compareBatch(cuda, cpu, store, new int[][] {tableB}, new int[][] {promptB}, new int[] {0}, type + " B prompt");
            int positionB = promptB.length;
            for (int start = 0; start < promptA.length; start += 100) {
                int[] chunk = Arrays.copyOfRange(promptA, start, Math.min(promptA.length, start + 100));
                int[] decodeB = {promptB[positionB % promptB.length]};
                compareBatch(cuda, cpu, store, new int[][] {tableA, tableB}, new int[][] {chunk, decodeB},
                        new int[] {start, positionB}, type + " A chunk at " + start);
                positionB++;
            }
            for (int step = 0; step < 4; step++) {
                compareBatch(cuda, cpu, store, new int[][] {tableA, tableB}, new int[][] {{promptA[step]}, {promptB[step]}},
                        new int[] {promptA.length + step, positionB++}, type + " decode step " + step);
            }
        }
    }

    /** Runs one batch (per sequence: its table, its tokens, its first position) on both; compares each sequence's last logits. */
    private static void compareBatch(CudaBackend cuda, LlamaForward cpu, KvStore store, int[][] tables, int[][] tokens,
                                     int[] firstPositions, String what) {
        List<Integer> tokenList = new ArrayList<>();
        List<Integer> positions = new ArrayList<>();
        List<int[]> tableList = new ArrayList<>();
        for (int s = 0; s < tables.length; s++) {
            for (int i = 0; i < tokens[s].length; i++) {
                tokenList.add(tokens[s][i]);
                positions.add(firstPositions[s] + i);
                tableList.add(tables[s]);
            }
        }
        int n = tokenList.size();
        int[] ids = tokenList.stream().mapToInt(Integer::intValue).toArray();
        int[] at = positions.stream().mapToInt(Integer::intValue).toArray();
        boolean[] want = new boolean[n];
        KvStore.Slots[] slots = new KvStore.Slots[n];
        for (int i = 0; i < n; i++) {
            want[i] = i == n - 1 || tableList.get(i + 1) != tableList.get(i);
            slots[i] = slotsOf(tableList.get(i));
        }
        float[][] expected = cpu.forward(ids, at, slots, want, store);
        float[][] actual = cuda.forward(ids, at, tableList.toArray(int[][]::new), want);
        for (int i = 0; i < n; i++) {
            if (want[i]) {
                assertClose(actual[i], expected[i], what + ", position " + at[i]);
            } else {
                assertThat(actual[i]).isNull();
            }
        }
    }

    @Test
    void pagedEqualsDenseExactlyOnTheDevice() throws Exception {
        try (LlamaModel model = generated(GgmlType.Q8_0); CudaBackend cuda = backend(model, 256, 0)) {
            int[] prompt = randomTokens(pagedPrompt(), model.config().vocab(), 3);
            int[] dense = table(0, 320);
            int[] scattered = new int[dense.length];
            for (int i = 0; i < scattered.length; i++) {
                scattered[i] = 255 - 3 * i;  // disjoint from the dense blocks, descending, not adjacent
            }
            float[][] denseLogits = run(cuda, prompt, dense);
            float[][] pagedLogits = run(cuda, prompt, scattered);
            for (int i = 0; i < denseLogits.length; i++) {
                assertThat(pagedLogits[i]).as("step %d", i).isEqualTo(denseLogits[i]);
            }
        }
    }

    /** A prefill of all but the last 4 tokens in chunks of 64, then the last 4 as decode steps; the logits of each pass. */
    private static float[][] run(CudaBackend cuda, int[] prompt, int[] table) {
        List<float[]> logits = new ArrayList<>();
        int prefill = prompt.length - 4;
        for (int start = 0; start < prefill; start += 64) {
            int end = Math.min(prefill, start + 64);
            logits.add(pass(cuda, prompt, start, end, table));
        }
        for (int p = prefill; p < prompt.length; p++) {
            logits.add(pass(cuda, prompt, p, p + 1, table));
        }
        return logits.toArray(float[][]::new);
    }

    private static float[] pass(CudaBackend cuda, int[] prompt, int from, int to, int[] table) {
        int n = to - from;
        int[] positions = new int[n];
        int[][] tables = new int[n][];
        boolean[] want = new boolean[n];
        for (int i = 0; i < n; i++) {
            positions[i] = from + i;
            tables[i] = table;
        }
        want[n - 1] = true;
        return cuda.forward(Arrays.copyOfRange(prompt, from, to), positions, tables, want)[n - 1];
    }

    @Test
    void aSwapRoundTripAndABlockCopyAreExactAndTheSequenceContinues() throws Exception {
        try (LlamaModel model = generated(GgmlType.F16); CudaBackend cuda = backend(model, 64, 32)) {
            int[] prompt = randomTokens(100, model.config().vocab(), 4);
            int[] before = table(0, 112);  // 7 blocks
            int[] hostBlocks = {20, 3, 31, 0, 9, 17, 5};
            int[] after = {40, 41, 50, 43, 44, 60, 46};
            int[] head = Arrays.copyOf(prompt, 99);
            run(cuda, head, before);
            int layers = model.config().layers();
            float[][] keys = new float[layers][];
            float[][] values = new float[layers][];
            for (int l = 0; l < layers; l++) {
                keys[l] = readBlocks(cuda, l, before, true);
                values[l] = readBlocks(cuda, l, before, false);
            }
            cuda.copyToHost(before, hostBlocks);
            cuda.fillDevicePool(Float.NaN);  // whatever was on the device is gone
            cuda.copyToDevice(hostBlocks, after);
            for (int l = 0; l < layers; l++) {
                assertThat(readBlocks(cuda, l, after, true)).as("keys of layer %d", l).isEqualTo(keys[l]);
                assertThat(readBlocks(cuda, l, after, false)).as("values of layer %d", l).isEqualTo(values[l]);
            }
            // Copy-on-write's copy within the device pool: the same bits in other blocks.
            int[] copies = {10, 11, 12, 13, 14, 15, 16};
            cuda.copyWithinDevice(after, copies);
            for (int l = 0; l < layers; l++) {
                assertThat(readBlocks(cuda, l, copies, true)).as("copied keys of layer %d", l).isEqualTo(keys[l]);
                assertThat(readBlocks(cuda, l, copies, false)).as("copied values of layer %d", l).isEqualTo(values[l]);
            }
            // The last prompt token, attending over the swapped-in blocks, gives the cpu's logits for the whole prompt.
            float[] continued = pass(cuda, prompt, 99, 100, after);
            LlamaForward cpu = new LlamaForward(model);
            KvStore store = new KvStore(layers, 64 * BLOCK, model.config().kvDim());
            float[] expected = cpu.prefill(prompt, 0, 100, store, slotsOf(table(0, 112)), 64);
            assertClose(continued, expected, "after the swap round trip");
        }
    }

    private static float[] readBlocks(CudaBackend cuda, int layer, int[] blocks, boolean keys) {
        List<float[]> parts = new ArrayList<>();
        int length = 0;
        for (int block : blocks) {
            float[] part = cuda.readSlots(layer, block * BLOCK, BLOCK, keys);
            parts.add(part);
            length += part.length;
        }
        float[] all = new float[length];
        int at = 0;
        for (float[] part : parts) {
            System.arraycopy(part, 0, all, at, part.length);
            at += part.length;
        }
        return all;
    }

    @Test
    void theEngineOnCudaGeneratesTheCpuBackendsGreedyTokensOnTheFixture() throws Exception {
        try (LlamaModel model = LlamaModel.load(FIXTURE)) {
            int[] prompt = model.tokenizer().encode("The KV cache keeps keys and values of every earlier token.", true);
            List<Integer> onCpu = generate(model, new CpuBackend(model, 64, 16), prompt);
            try (CudaBackend cuda = backend(model, 64, 16)) {
                assertThat(generate(model, cuda, prompt)).isEqualTo(onCpu);
            }
        }
    }

    private static List<Integer> generate(LlamaModel model, ForwardBackend backend, int[] prompt) throws Exception {
        KvCacheManager kv = new KvCacheManager(new BlockPool(64, BLOCK, KvEventSink.NONE), new BlockHasher("fixture", "", BLOCK));
        RecordingSink sink = new RecordingSink();
        try (Engine engine = new Engine(kv, new Scheduler(kv, 2048, 8), backend, 1024)) {
            engine.start();
            engine.submit(new GenerationRequest("greedy", prompt, 12, sink));
            assertThat(sink.await(60)).isNotNull();
        }
        assertThat(sink.tokens).as("tokens of %s", model.name()).isNotEmpty();
        return sink.tokens;
    }
}
