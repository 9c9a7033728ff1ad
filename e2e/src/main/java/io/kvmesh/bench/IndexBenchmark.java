package io.kvmesh.bench;

import static io.kvmesh.bench.BenchArgs.intArg;
import static io.kvmesh.bench.BenchArgs.stringArg;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import io.kvmesh.prefix.blocks.BlockHasher;
import io.kvmesh.prefix.events.BlockStored;
import io.kvmesh.prefix.events.KvEvent;
import io.kvmesh.prefix.events.KvEventBatch;
import io.kvmesh.prefix.events.Medium;
import io.kvmesh.prefix.index.PrefixIndex;

/**
 * {@code ./kvmesh bench index}: memory per block, event folding speed and match latency of {@link PrefixIndex},
 * against a baseline built from plain {@code java.util} collections (boxed hash → pod → tiers), in one run.
 * Prints a table and writes {@code bench-results/index.csv}.
 *
 * <p>Workload: {@code pods} pods; each holds {@code blocksPerPod} blocks made of 64-block conversations; with
 * {@code replication} r, every conversation is held by r pods (r = 1: no sharing). Match queries are 64-block
 * prompts of which half are held somewhere.
 */
public final class IndexBenchmark {

    private static final int CONVERSATION_BLOCKS = 64;
    private static final int BLOCK_SIZE = 16;

    public static void main(String[] args) throws IOException {
        int pods = intArg(args, "--pods", 32);
        int blocksPerPod = intArg(args, "--blocks-per-pod", 32_768);
        int queries = intArg(args, "--queries", 20_000);
        Path csv = Path.of(stringArg(args, "--csv", "bench-results/index.csv"));

        List<String[]> rows = new ArrayList<>();
        System.out.printf(Locale.ROOT, "prefix-index benchmark: %d pods x %d blocks, block size %d, %d match queries of %d blocks%n",
                pods, blocksPerPod, BLOCK_SIZE, queries, CONVERSATION_BLOCKS);
        System.out.printf(Locale.ROOT, "%-11s %-10s %14s %14s %12s %12s %12s%n",
                "replication", "index", "bytes/entry", "entries", "fold blk/s", "match p50 µs", "match p99 µs");
        for (int replication : new int[] {1, 4}) {
            Workload workload = Workload.build(pods, blocksPerPod, replication, new Random(42));
            Figures kvmesh = measure(workload, queries, new PrefixIndexTarget());
            Figures baseline = measure(workload, queries, new BoxedIndexTarget());
            for (Figures f : List.of(kvmesh, baseline)) {
                System.out.printf(Locale.ROOT, "%-11d %-10s %14.1f %14d %12.0f %12.2f %12.2f%n", replication, f.name,
                        f.bytesPerEntry, f.entries, f.foldBlocksPerSecond, f.matchP50Micros, f.matchP99Micros);
                rows.add(new String[] {String.valueOf(replication), f.name, fmt(f.bytesPerEntry), String.valueOf(f.entries),
                        fmt(f.foldBlocksPerSecond), fmt(f.matchP50Micros), fmt(f.matchP99Micros)});
            }
            System.out.printf(Locale.ROOT, "  ratio kvmesh/baseline: memory %.2fx, fold speed %.2fx, match p50 %.2fx faster%n",
                    kvmesh.bytesPerEntry / baseline.bytesPerEntry, kvmesh.foldBlocksPerSecond / baseline.foldBlocksPerSecond,
                    baseline.matchP50Micros / kvmesh.matchP50Micros);
        }
        Files.createDirectories(csv.toAbsolutePath().getParent());
        StringBuilder text = new StringBuilder("replication,index,bytes_per_entry,entries,fold_blocks_per_s,match_p50_us,match_p99_us\n");
        for (String[] row : rows) {
            text.append(String.join(",", row)).append('\n');
        }
        Files.writeString(csv, text);
        System.out.println("wrote " + csv.toAbsolutePath());
    }

    /** The batches every pod publishes, and the prompts to match, generated once per replication factor. */
    private record Workload(List<KvEventBatch> batches, long[][] queries, long entries) {

        static Workload build(int pods, int blocksPerPod, int replication, Random random) {
            BlockHasher hasher = new BlockHasher("bench-model", "", BLOCK_SIZE);
            int conversationsPerPod = blocksPerPod / CONVERSATION_BLOCKS;
            int distinct = Math.max(1, pods * conversationsPerPod / replication);
            long[][] conversations = new long[distinct * 2][];
            int[][] tokens = new int[distinct * 2][];
            for (int c = 0; c < conversations.length; c++) {
                tokens[c] = random.ints(CONVERSATION_BLOCKS * BLOCK_SIZE, 0, 128_000).toArray();
                conversations[c] = hasher.hashFullBlocks(tokens[c]);
            }
            List<KvEventBatch> batches = new ArrayList<>();
            long entries = 0;
            for (int pod = 0; pod < pods; pod++) {
                long seq = 0;
                for (int k = 0; k < conversationsPerPod; k++) {
                    int c = (pod * conversationsPerPod + k) % distinct;
                    List<KvEvent> events = List.of(new BlockStored(conversations[c], null, tokens[c], BLOCK_SIZE, Medium.DEVICE));
                    batches.add(new KvEventBatch("pod-" + pod, 1, seq++, 0, events));
                    entries += CONVERSATION_BLOCKS;
                }
            }
            // Half the queries ask for held conversations, half for conversations nobody holds.
            long[][] queries = new long[4096][];
            for (int q = 0; q < queries.length; q++) {
                queries[q] = conversations[random.nextInt(conversations.length)];
            }
            return new Workload(batches, queries, entries);
        }
    }

    private record Figures(String name, double bytesPerEntry, long entries, double foldBlocksPerSecond,
                           double matchP50Micros, double matchP99Micros) {
    }

    private interface Target {
        String name();

        void apply(KvEventBatch batch);

        int match(long[] hashes);
    }

    private static Figures measure(Workload workload, int queries, Target target) {
        long before = usedHeapAfterGc();
        long start = System.nanoTime();
        for (KvEventBatch batch : workload.batches) {
            target.apply(batch);
        }
        double foldSeconds = (System.nanoTime() - start) / 1e9;
        long after = usedHeapAfterGc();
        long[] latencies = new long[queries];
        int sink = 0;
        for (int warm = 0; warm < queries; warm++) {
            sink += target.match(workload.queries[warm % workload.queries.length]);
        }
        for (int q = 0; q < queries; q++) {
            long t0 = System.nanoTime();
            sink += target.match(workload.queries[q % workload.queries.length]);
            latencies[q] = System.nanoTime() - t0;
        }
        Arrays.sort(latencies);
        if (sink == 42) {
            System.out.print("");
        }
        return new Figures(target.name(), (double) (after - before) / workload.entries, workload.entries,
                workload.entries / foldSeconds, latencies[queries / 2] / 1e3, latencies[queries * 99 / 100] / 1e3);
    }

    /** Heap in use after collecting until it stops shrinking: what a data structure really holds. */
    static long usedHeapAfterGc() {
        var memory = ManagementFactory.getMemoryMXBean();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 4; i++) {
            System.gc();
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            used = Math.min(used, memory.getHeapMemoryUsage().getUsed());
        }
        return used;
    }

    private static final class PrefixIndexTarget implements Target {
        private final PrefixIndex index = new PrefixIndex();

        public String name() {
            return "kvmesh";
        }

        public void apply(KvEventBatch batch) {
            index.apply(batch);
        }

        public int match(long[] hashes) {
            return index.match(hashes).size();
        }
    }

    /** The obvious implementation with boxed keys: hash → (pod → tier bits). */
    private static final class BoxedIndexTarget implements Target {
        private final Map<Long, Map<String, Integer>> holders = new HashMap<>();

        public String name() {
            return "baseline";
        }

        public void apply(KvEventBatch batch) {
            for (KvEvent event : batch.events()) {
                if (event instanceof BlockStored stored) {
                    int tier = stored.medium() == Medium.DEVICE ? 1 : 2;
                    for (int i = 0; i < stored.blockCount(); i++) {
                        holders.computeIfAbsent(stored.blockHash(i), h -> new HashMap<>(4))
                                .merge(batch.podId(), tier, (a, b) -> a | b);
                    }
                }
            }
        }

        public int match(long[] hashes) {
            Map<String, Integer> first = holders.get(hashes[0]);
            if (first == null) {
                return 0;
            }
            int pods = 0;
            for (String pod : first.keySet()) {
                for (long hash : hashes) {
                    Map<String, Integer> held = holders.get(hash);
                    if (held == null || !held.containsKey(pod)) {
                        break;
                    }
                }
                pods++;
            }
            return pods;
        }
    }



    private static String fmt(double value) {
        return String.format(Locale.ROOT, "%.3f", value);
    }
}
