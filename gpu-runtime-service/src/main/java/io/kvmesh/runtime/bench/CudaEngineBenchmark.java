package io.kvmesh.runtime.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

import io.kvmesh.prefix.blocks.BlockHasher;
import io.kvmesh.runtime.cuda.CudaAvailability;
import io.kvmesh.runtime.cuda.CudaBackend;
import io.kvmesh.runtime.cuda.CudaProbe;
import io.kvmesh.runtime.engine.Engine;
import io.kvmesh.runtime.engine.Scheduler;
import io.kvmesh.runtime.kv.BlockPool;
import io.kvmesh.runtime.kv.KvCacheManager;
import io.kvmesh.runtime.kv.KvEventSink;
import io.kvmesh.runtime.model.KvStore;
import io.kvmesh.runtime.model.LlamaForward;
import io.kvmesh.runtime.model.LlamaModel;

/**
 * {@code ./kvmesh bench engine --backend cuda [--preset 1b] [--type Q8_0] [--sequences 64] [--context 4096]}: the
 * cuda backend's figures, each against its baseline from the same run — the decode attention kernels' bandwidth
 * (K and V read per second) against the device's peak (memory clock × bus width; goal ≥ 70%), single-stream decode
 * against the cpu backend's on the same model, aggregate decode at batch 1, 16 and 64 through the engine, and the
 * largest logit difference from the cpu backend on one prompt. Without a usable GPU it prints the probe's reason
 * and exits with status 2: no figure is estimated. Writes bench-results/engine-cuda.csv.
 */
final class CudaEngineBenchmark {

    private CudaEngineBenchmark() {
    }

    static void run(Path model, String[] args, Path root) throws Exception {
        CudaAvailability cuda = CudaProbe.availability();
        if (!cuda.available()) {
            System.out.println("no cuda figures: " + cuda.reason());
            System.exit(2);
        }
        int sequences = Integer.parseInt(EngineBenchmark.option(args, "--sequences", "64"));
        int context = Integer.parseInt(EngineBenchmark.option(args, "--context", "4096"));
        int decodeTokens = Integer.parseInt(EngineBenchmark.option(args, "--tokens", "32"));
        List<String[]> rows = new ArrayList<>();
        System.out.println("device: " + cuda.reason());
        try (LlamaModel llama = LlamaModel.load(model)) {
            System.out.printf(Locale.ROOT, "model %s: %s%n", model.getFileName(), llama.config());
            int blockSize = 16;
            int blocks = Math.max(512, sequences * ((context + blockSize - 1) / blockSize));
            try (CudaBackend backend = new CudaBackend(llama, blocks, 0, blockSize)) {
                double peak = backend.peakBandwidth();
                EngineBenchmark.row(rows, "device peak memory bandwidth", peak / 1e9, "GB/s", "baseline (" + cuda.device() + ")");
                double attention = 0;
                for (int pass = 0; pass < 3; pass++) {
                    attention = Math.max(attention, backend.decodeAttentionBandwidth(sequences, context, 20));
                }
                EngineBenchmark.row(rows, "decode attention, " + sequences + " x " + context + " tokens", attention / 1e9, "GB/s",
                        String.format(Locale.ROOT, "%.0f%% of peak (goal 70%%)", 100 * attention / peak));

                double cudaDecode = singleStreamDecode(backend, llama, decodeTokens);
                double cpuDecode = EngineBenchmark.decode(llama, Math.min(decodeTokens, 8));
                EngineBenchmark.row(rows, "single-stream decode, cpu backend", cpuDecode, "tok/s", "baseline");
                EngineBenchmark.row(rows, "single-stream decode, cuda backend", cudaDecode, "tok/s",
                        String.format(Locale.ROOT, "%.1fx cpu", cudaDecode / cpuDecode));
                EngineBenchmark.row(rows, "largest |logit difference| from cpu", largestLogitDifference(backend, llama), "",
                        "one 64-token prompt");
            }
            double single = 0;
            for (int batch : new int[] {1, 16, 64}) {
                double aggregate = batchDecode(llama, batch, decodeTokens);
                if (batch == 1) {
                    single = aggregate;
                }
                EngineBenchmark.row(rows, "aggregate decode through the engine, batch " + batch, aggregate, "tok/s",
                        String.format(Locale.ROOT, "%.2fx batch 1", aggregate / single));
            }
        }
        EngineBenchmark.writeCsv(rows, root.resolve("bench-results/engine-cuda.csv"));
    }

    /** One sequence, one token per pass with logits (as serving does); the best of three runs of {@code tokens} steps. */
    private static double singleStreamDecode(CudaBackend backend, LlamaModel model, int tokens) {
        int[] table = IntStream.range(0, (3 * tokens + 16) / 16 + 1).toArray();
        double best = 0;
        int position = 0;
        for (int run = 0; run < 3; run++) {
            long start = System.nanoTime();
            for (int step = 0; step < tokens; step++, position++) {
                backend.forward(new int[] {model.tokenizer().bosId()}, new int[] {position}, new int[][] {table}, new boolean[] {true});
            }
            best = Math.max(best, tokens / ((System.nanoTime() - start) / 1e9));
        }
        return best;
    }

    private static double largestLogitDifference(CudaBackend backend, LlamaModel model) {
        int[] prompt = IntStream.range(0, 64).map(i -> 100 + 37 * i % 5000).toArray();
        int[] positions = IntStream.range(0, 64).toArray();
        int[] table = IntStream.range(400, 404).toArray();
        int[][] tables = new int[64][];
        Arrays.fill(tables, table);
        boolean[] want = new boolean[64];
        want[63] = true;
        float[] onGpu = backend.forward(prompt, positions, tables, want)[63];
        KvStore store = new KvStore(model.config().layers(), 64, model.config().kvDim());
        float[] onCpu = new LlamaForward(model).prefill(prompt, 0, 64, store, position -> position, 64);
        double worst = 0;
        for (int i = 0; i < onCpu.length; i++) {
            worst = Math.max(worst, Math.abs(onGpu[i] - onCpu[i]));
        }
        return worst;
    }

    private static double batchDecode(LlamaModel model, int batch, int tokens) throws Exception {
        int blocks = 1024;
        KvCacheManager kv = new KvCacheManager(new BlockPool(blocks, 16, KvEventSink.NONE), new BlockHasher("bench", "", 16));
        try (CudaBackend backend = new CudaBackend(model, blocks, 0, 16);
             Engine engine = new Engine(kv, new Scheduler(kv, 4096, 64), backend, blocks * 16)) {
            engine.start();
            return EngineBenchmark.batchDecode(engine, model, batch, tokens);
        }
    }
}
