package io.kvmesh.bench;

import static io.kvmesh.bench.BenchArgs.doubleArg;
import static io.kvmesh.bench.BenchArgs.has;
import static io.kvmesh.bench.BenchArgs.intArg;
import static io.kvmesh.bench.BenchArgs.stringArg;
import static io.kvmesh.bench.BenchFormat.format;
import static io.kvmesh.bench.BenchFormat.loadAverage;
import static io.kvmesh.bench.BenchFormat.pct;
import static io.kvmesh.bench.BenchFormat.progress;
import static io.kvmesh.bench.BenchFormat.quote;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import io.kvmesh.e2e.local.LocalMesh;
import io.kvmesh.e2e.local.ServiceProcess;
import io.kvmesh.kafka.broker.KafkaBroker;
import io.kvmesh.prefix.events.BlockStored;
import io.kvmesh.prefix.events.BlockUsage;
import io.kvmesh.prefix.events.EventCodec;
import io.kvmesh.prefix.events.KvEvent;
import io.kvmesh.prefix.events.KvEventBatch;
import io.kvmesh.prefix.events.Medium;
import io.kvmesh.prefix.events.PodIndexSnapshot;
import io.kvmesh.prefix.events.PodStatus;
import io.kvmesh.prefix.events.PoolTopics;
import io.kvmesh.prefix.index.IndexStats;
import io.kvmesh.prefix.index.LivePods;
import io.kvmesh.prefix.index.PrefixIndex;
import io.kvmesh.streams.FollowerListener;
import io.kvmesh.streams.IndexFollower;
import io.kvmesh.streams.PoolTopicsAdmin;
import io.kvmesh.streams.SnapshotWriter;
import io.kvmesh.streams.StreamSettings;

/**
 * {@code ./kvmesh bench router}: the router issue's figures, each next to its goal and, where one makes sense, a
 * baseline measured in the same run.
 * <ol>
 * <li>Index lookup: {@link PrefixIndex#match} on an index of {@code --blocks} distinct blocks over {@code --pods} pods,
 * built from prefix trees (a 64-block trunk with three 64-block branches, 256 blocks) each held by 1–3 pods; prompts
 * are a stored prefix plus a new tail (80%) or held by nobody (20%). Heap bytes per (pod, block) entry.</li>
 * <li>Ingest: the same batches as {@link EventCodec} bytes decoded and applied on one thread (baseline: applying
 * already decoded batches), then produced to {@code kv-events} on a real broker and read by an {@link IndexFollower}.</li>
 * <li>Event → visible: one batch at a time through the broker until {@link PrefixIndex#holds} (baseline: the broker's
 * acknowledgement of the same send).</li>
 * <li>Router added latency: an open-loop load through the router of a {@link LocalMesh} with zero-cost {@code sim}
 * pods and, interleaved, straight to the pods.</li>
 * <li>Bootstrap: {@code kv-index} snapshots of the lookup index written by {@link SnapshotWriter}, a fresh follower
 * from start to caught up (baseline: decoding and restoring the same snapshots from memory).</li>
 * </ol>
 * Prints a table and writes {@code bench-results/router.csv} and {@code bench-results/router-latency.png}.
 */
public final class RouterBenchmark {

    private static final int BLOCK_SIZE = 16;
    private static final int SEGMENT = 64;
    private static final int BRANCHES = 3;
    private static final int TREE_BLOCKS = SEGMENT * (1 + BRANCHES);
    private static final String SIM_MODEL = "kvmesh-sim";

    /** One measured number with its goal and baseline; {@code met} is null when the figure has no goal. */
    public record Figure(String section, String name, double value, String unit, String goal, Boolean met,
                         String baselineName, Double baselineValue, String note) {
    }

    /** What to run, from the command line. */
    public record Options(int blocks, int pods, int lookups, int rate, double loadSeconds, double warmSeconds,
                          boolean broker, boolean mesh, boolean quick, boolean onlyRouter, boolean pin, Path csv, Path png, Path root) {

        static Options parse(String[] args) {
            boolean quick = has(args, "--quick");
            Path root = Path.of(System.getProperty("io.kvmesh.root", ".")).toAbsolutePath().normalize();
            return new Options(
                    intArg(args, "--blocks", quick ? 65_536 : 1_000_000),
                    intArg(args, "--pods", quick ? 16 : 64),
                    intArg(args, "--lookups", quick ? 20_000 : 200_000),
                    intArg(args, "--rate", 1000),
                    // 30 s at 1,000 req/s: the p99 of the direct baseline (a quarter of the samples) settles; at 10 s
                    // the router-minus-direct p99 varied 0.8-1.4 ms between runs from the baseline's tail alone.
                    doubleArg(args, "--seconds", quick ? 2 : 30),
                    quick ? 1 : 10,
                    !has(args, "--no-broker"), !has(args, "--no-mesh") && !has(args, "--no-broker"), quick,
                    has(args, "--only-router"), !has(args, "--no-pin"),
                    Path.of(stringArg(args, "--csv", root.resolve("bench-results/router.csv").toString())),
                    Path.of(stringArg(args, "--png", root.resolve("bench-results/router-latency.png").toString())),
                    root);
        }
    }

    private final Options options;
    private final List<Figure> figures = new ArrayList<>();
    private final EventCodec codec = new EventCodec();

    private RouterBenchmark(Options options) {
        this.options = options;
    }

    public static void main(String[] args) throws Exception {
        if (has(args, "--help")) {
            System.out.println("""
                    usage: ./kvmesh bench router [--quick] [--blocks N] [--pods N] [--lookups N] [--rate R] [--seconds S]
                                                 [--no-broker] [--no-mesh] [--only-router] [--no-pin] [--csv FILE] [--png FILE]
                      --quick        small sizes and short loads (a smoke run)
                      --no-broker    only the in-process parts (lookup, ingest from memory); no Kafka, no mesh
                      --no-mesh      skip section 4 (router latency through a local mesh)
                      --only-router  only section 4
                      --no-pin       section 4 without the router on a CPU of its own (taskset)""");
            return;
        }
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        // Kafka's clients warn about leader elections on freshly created topics; the follower logs at INFO through JUL.
        System.setProperty("org.slf4j.simpleLogger.log.org.apache.kafka", "error");
        java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.WARNING);
        run(args);
    }

    /** Runs the sections the options ask for, prints the table, writes the CSV (and PNG); returns the figures. */
    public static List<Figure> run(String[] args) throws Exception {
        Options options = Options.parse(args);
        return new RouterBenchmark(options).runAll();
    }

    private List<Figure> runAll() throws Exception {
        System.out.println("load average at start (other processes share these cores): " + loadAverage());
        System.out.printf(Locale.ROOT, "router benchmark: %,d distinct blocks in %d-block prefix trees over %d pods, block size %d%s%n",
                options.blocks, TREE_BLOCKS, options.pods, BLOCK_SIZE, options.quick ? " (quick)" : "");
        if (options.onlyRouter) {
            routerLatency();
            printTable();
            writeCsv();
            return List.copyOf(figures);
        }
        Workload workload = Workload.build(options.blocks, options.pods, new SplittableRandom(42));
        System.out.printf(Locale.ROOT, "  %,d batches, %,d (pod, block) entries; %d cores, max heap %d MiB%n",
                workload.batches.size(), workload.entries, Runtime.getRuntime().availableProcessors(),
                Runtime.getRuntime().maxMemory() >> 20);

        PrefixIndex index = lookupSection(workload);
        byte[][] encoded = ingestFromMemory(workload);
        if (options.broker) {
            progress("starting a Kafka broker");
            try (KafkaBroker broker = KafkaBroker.builder().heap("1g").start()) {
                ingestThroughBroker(broker, workload, encoded);
                encoded = null;
                visibleLatency(broker);
                bootstrap(broker, index, workload);
            }
        }
        index = null;
        workload = null;
        encoded = null;
        if (options.mesh) {
            System.gc();
            routerLatency();
        }
        printTable();
        writeCsv();
        return List.copyOf(figures);
    }

    // ---------------------------------------------------------------- workload

    /** Every pod's batches (one per prefix tree it holds) and the prompts to look up. */
    record Workload(List<KvEventBatch> batches, long entries, long[][] prompts, int pods, long blockEvents) {

        static Workload build(int blocks, int pods, SplittableRandom random) {
            int trees = Math.max(1, blocks / TREE_BLOCKS);
            int[] tokens = random.ints(SEGMENT * BLOCK_SIZE, 0, 128_000).toArray();
            List<List<List<KvEvent>>> perPod = new ArrayList<>();
            for (int p = 0; p < pods; p++) {
                perPod.add(new ArrayList<>());
            }
            long[][] trunks = new long[trees][];
            long[][][] branches = new long[trees][BRANCHES][];
            long entries = 0;
            for (int t = 0; t < trees; t++) {
                trunks[t] = randomHashes(random, SEGMENT);
                for (int b = 0; b < BRANCHES; b++) {
                    branches[t][b] = randomHashes(random, SEGMENT);
                }
                int copies = 1 + random.nextInt(Math.min(3, pods));
                int first = random.nextInt(pods);
                for (int c = 0; c < copies; c++) {
                    int pod = (first + c * Math.max(1, pods / 3)) % pods;
                    // The third copy sits in host memory (offloaded), the others on the device.
                    Medium medium = c == 2 ? Medium.HOST : Medium.DEVICE;
                    List<KvEvent> events = new ArrayList<>();
                    events.add(new BlockStored(trunks[t], null, tokens, BLOCK_SIZE, medium));
                    for (int b = 0; b < BRANCHES; b++) {
                        events.add(new BlockStored(branches[t][b], trunks[t][SEGMENT - 1], tokens, BLOCK_SIZE, medium));
                    }
                    perPod.get(pod).add(events);
                    entries += TREE_BLOCKS;
                }
            }
            List<KvEventBatch> batches = new ArrayList<>();
            long epoch = System.currentTimeMillis();
            // Interleave the pods, as their batches arrive on the topic.
            int maxPerPod = perPod.stream().mapToInt(List::size).max().orElse(0);
            long[] seq = new long[pods];
            for (int k = 0; k < maxPerPod; k++) {
                for (int p = 0; p < pods; p++) {
                    if (k < perPod.get(p).size()) {
                        batches.add(new KvEventBatch(podId(p), epoch, seq[p]++, epoch, perPod.get(p).get(k)));
                    }
                }
            }
            long[][] prompts = new long[8192][];
            for (int q = 0; q < prompts.length; q++) {
                if (random.nextInt(5) == 0) {
                    prompts[q] = randomHashes(random, 64 + random.nextInt(129));
                } else {
                    int t = random.nextInt(trees);
                    long[] branch = branches[t][random.nextInt(BRANCHES)];
                    int held = 1 + random.nextInt(SEGMENT);
                    long[] tail = randomHashes(random, 8 + random.nextInt(57));
                    long[] prompt = new long[SEGMENT + held + tail.length];
                    System.arraycopy(trunks[t], 0, prompt, 0, SEGMENT);
                    System.arraycopy(branch, 0, prompt, SEGMENT, held);
                    System.arraycopy(tail, 0, prompt, SEGMENT + held, tail.length);
                    prompts[q] = prompt;
                }
            }
            return new Workload(batches, entries, prompts, pods, entries);
        }

        static String podId(int pod) {
            return "pod-" + pod;
        }

        private static long[] randomHashes(SplittableRandom random, int count) {
            long[] hashes = new long[count];
            for (int i = 0; i < count; i++) {
                hashes[i] = random.nextLong();
            }
            return hashes;
        }
    }

    // ---------------------------------------------------------------- 1. lookup

    private PrefixIndex lookupSection(Workload workload) {
        progress("1. index lookup: building the index");
        PrefixIndex index = new PrefixIndex();
        long before = IndexBenchmark.usedHeapAfterGc();
        long start = System.nanoTime();
        for (KvEventBatch batch : workload.batches) {
            index.apply(batch);
        }
        double applySeconds = (System.nanoTime() - start) / 1e9;
        long after = IndexBenchmark.usedHeapAfterGc();
        IndexStats stats = index.stats();
        double perEntry = (double) (after - before) / workload.entries;
        double perDistinct = (double) (after - before) / stats.distinctBlocks();

        int lookups = options.lookups;
        int sink = 0;
        for (int i = 0; i < Math.max(50_000, lookups / 2); i++) {
            sink += index.match(workload.prompts[i % workload.prompts.length]).size();
        }
        long[] latencies = new long[lookups];
        for (int i = 0; i < lookups; i++) {
            long[] prompt = workload.prompts[(i * 7919) % workload.prompts.length];
            long t0 = System.nanoTime();
            sink += index.match(prompt).size();
            latencies[i] = System.nanoTime() - t0;
        }
        if (sink == 42) {
            System.out.print("");
        }
        Arrays.sort(latencies);
        String scale = String.format(Locale.ROOT, "%,d blocks x %d pods", stats.distinctBlocks(), stats.pods());
        String section = "1 index lookup";
        add(section, "match p50", pct(latencies, 0.50) / 1e3, "us", null, 0, null, null,
                scale + ", " + lookups + " prompts of 72-320 blocks, 20% misses");
        add(section, "match p99", pct(latencies, 0.99) / 1e3, "us", "<=", 20, null, null, scale);
        add(section, "match p999", pct(latencies, 0.999) / 1e3, "us", null, 0, null, null, scale);
        add(section, "bytes per (pod, block) entry", perEntry, "B", null, 0, null, null,
                String.format(Locale.ROOT, "heap growth after GC over %,d entries", workload.entries));
        add(section, "bytes per distinct block", perDistinct, "B", null, 0, null, null,
                String.format(Locale.ROOT, "%.2f pods per block on average", (double) workload.entries / stats.distinctBlocks()));
        add(section, "apply (decoded batches)", workload.blockEvents / applySeconds, "block events/s", null, 0, null, null,
                "first fold into an empty index, cold JIT");
        return index;
    }

    // ---------------------------------------------------------------- 2. ingest

    private byte[][] ingestFromMemory(Workload workload) {
        progress("2. ingest: encoding the batches");
        byte[][] encoded = new byte[workload.batches.size()][];
        byte[][] json = new byte[encoded.length][];
        long bytes = 0;
        long jsonBytes = 0;
        for (int i = 0; i < encoded.length; i++) {
            encoded[i] = codec.encode(workload.batches.get(i));
            json[i] = codec.encodeJson(workload.batches.get(i));
            bytes += encoded[i].length;
            jsonBytes += json[i].length;
        }
        // Warm every path on a throwaway index, then measure each on a fresh one, best of two.
        PrefixIndex warm = new PrefixIndex();
        for (int i = 0; i < Math.min(encoded.length, 2000); i++) {
            warm.apply(codec.decodeBatch(encoded[i]));
            warm.apply(codec.decodeBatch(json[i]));
        }
        double best = 0;
        double bestJson = 0;
        double bestApply = 0;
        double bestDecode = 0;
        for (int round = 0; round < 2; round++) {
            bestDecode = Math.max(bestDecode, decodeRate(encoded, workload.blockEvents));
            best = Math.max(best, decodeAndApplyRate(encoded, workload.blockEvents));
            bestJson = Math.max(bestJson, decodeAndApplyRate(json, workload.blockEvents));
            System.gc();
            PrefixIndex plain = new PrefixIndex();
            long start = System.nanoTime();
            for (KvEventBatch batch : workload.batches) {
                plain.apply(batch);
            }
            bestApply = Math.max(bestApply, workload.blockEvents / ((System.nanoTime() - start) / 1e9));
        }
        add("2 ingest", "decode+apply from memory, 1 thread", best, "block events/s", ">=", 1_000_000,
                "same batches as JSON", bestJson,
                String.format(Locale.ROOT, "MessagePack, %.0f B per block event (JSON %.0f B; token ids included); best of 2",
                        (double) bytes / workload.blockEvents, (double) jsonBytes / workload.blockEvents));
        add("2 ingest", "decode only (MessagePack)", bestDecode, "block events/s", null, 0,
                "apply only (decoded batches)", bestApply, "best of 2");
        return encoded;
    }

    private double decodeRate(byte[][] records, long blockEvents) {
        System.gc();
        long start = System.nanoTime();
        int sink = 0;
        for (byte[] record : records) {
            sink += codec.decodeBatch(record).events().size();
        }
        double rate = blockEvents / ((System.nanoTime() - start) / 1e9);
        if (sink == 42) {
            System.out.print("");
        }
        return rate;
    }

    private double decodeAndApplyRate(byte[][] records, long blockEvents) {
        System.gc();
        PrefixIndex index = new PrefixIndex();
        long start = System.nanoTime();
        for (byte[] record : records) {
            index.apply(codec.decodeBatch(record));
        }
        return blockEvents / ((System.nanoTime() - start) / 1e9);
    }

    private void ingestThroughBroker(KafkaBroker broker, Workload workload, byte[][] encoded) throws Exception {
        StreamSettings settings = settings(broker, "bench.ingest");
        createTopics(broker, settings);
        progress("2. ingest: producing " + encoded.length + " batches to kv-events");
        long produceStart = System.nanoTime();
        try (KafkaProducer<String, byte[]> producer = podProducer(settings)) {
            for (int p = 0; p < workload.pods; p++) {
                producer.send(new ProducerRecord<>(settings.topics().podStatus(), Workload.podId(p), codec.encode(status(Workload.podId(p)))));
            }
            AtomicInteger failures = new AtomicInteger();
            for (int i = 0; i < encoded.length; i++) {
                producer.send(new ProducerRecord<>(settings.topics().kvEvents(), workload.batches.get(i).podId(), encoded[i]),
                        (meta, error) -> {
                            if (error != null) {
                                failures.incrementAndGet();
                            }
                        });
            }
            producer.flush();
            if (failures.get() > 0) {
                throw new IllegalStateException(failures.get() + " batches were not delivered");
            }
        }
        double produceSeconds = (System.nanoTime() - produceStart) / 1e9;
        long records = endOffsets(broker, settings.topics().kvEvents());
        if (records != encoded.length) {
            throw new IllegalStateException("kv-events holds " + records + " records, expected " + encoded.length);
        }
        progress("2. ingest: an index follower reads them");
        PrefixIndex index = new PrefixIndex();
        long start = System.nanoTime();
        long first = 0;
        try (IndexFollower follower = new IndexFollower(settings, index, new LivePods(index, 3_600_000), false, FollowerListener.NONE)) {
            follower.start();
            long deadline = start + TimeUnit.SECONDS.toNanos(300);
            while (!follower.isCaughtUp()) {
                if (first == 0 && follower.batchesApplied() > 0) {
                    first = System.nanoTime();
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the follower did not catch up in 300 s");
                }
                LockSupport.parkNanos(200_000);
            }
            long end = System.nanoTime();
            long entries = index.stats().deviceEntries() + index.stats().hostEntries();
            double rate = workload.blockEvents / ((end - first) / 1e9);
            Figure memory = find("decode+apply from memory, 1 thread");
            add("2 ingest", "kv-events through the broker (IndexFollower)", rate, "block events/s", ">=", 1_000_000,
                    "decode+apply from memory", memory == null ? null : memory.value,
                    String.format(Locale.ROOT, "first record to caught up; +%.2f s consumer start; produced in %.1f s; %,d entries indexed",
                            (first - start) / 1e9, produceSeconds, entries));
        }
    }

    // ---------------------------------------------------------------- 3. event -> visible

    private void visibleLatency(KafkaBroker broker) throws Exception {
        StreamSettings settings = settings(broker, "bench.visible");
        createTopics(broker, settings);
        String pod = "visible-pod";
        int perSecond = 50;
        int warm = perSecond;
        int count = warm + perSecond * (options.quick ? 2 : 8);
        progress(String.format(Locale.ROOT, "3. event -> visible: %d single-batch events at %d/s", count, perSecond));
        PrefixIndex index = new PrefixIndex();
        SplittableRandom random = new SplittableRandom(7);
        int[] tokens = random.ints(8 * BLOCK_SIZE, 0, 128_000).toArray();
        long[] visible = new long[count - warm];
        long[] acked = new long[count - warm];
        int misses = 0;
        try (KafkaProducer<String, byte[]> producer = podProducer(settings);
             IndexFollower follower = new IndexFollower(settings, index, new LivePods(index, 3_600_000), false, FollowerListener.NONE)) {
            producer.send(new ProducerRecord<>(settings.topics().podStatus(), pod, codec.encode(status(pod)))).get(10, TimeUnit.SECONDS);
            follower.start();
            if (!follower.awaitCaughtUp(Duration.ofSeconds(30))) {
                throw new IllegalStateException("the follower did not catch up");
            }
            long epoch = System.currentTimeMillis();
            long next = System.nanoTime();
            for (int i = 0; i < count; i++) {
                long[] hashes = new long[8];
                for (int b = 0; b < hashes.length; b++) {
                    hashes[b] = random.nextLong();
                }
                KvEventBatch batch = new KvEventBatch(pod, epoch, i, System.currentTimeMillis(),
                        List.of(new BlockStored(hashes, null, tokens, BLOCK_SIZE, Medium.DEVICE)));
                AtomicLong ack = new AtomicLong();
                long t0 = System.nanoTime();
                producer.send(new ProducerRecord<>(settings.topics().kvEvents(), pod, codec.encode(batch)),
                        (meta, error) -> ack.set(error == null ? System.nanoTime() : -1));
                long deadline = t0 + TimeUnit.SECONDS.toNanos(5);
                long last = hashes[hashes.length - 1];
                while (!index.holds(pod, last) && System.nanoTime() < deadline) {
                    LockSupport.parkNanos(20_000);
                }
                long t1 = System.nanoTime();
                if (!index.holds(pod, last)) {
                    misses++;
                }
                while (ack.get() == 0 && System.nanoTime() < deadline) {
                    LockSupport.parkNanos(20_000);
                }
                if (i >= warm) {
                    visible[i - warm] = t1 - t0;
                    acked[i - warm] = ack.get() - t0;
                }
                next += 1_000_000_000L / perSecond;
                LockSupport.parkNanos(Math.max(0, next - System.nanoTime()));
            }
        }
        if (misses > 0) {
            throw new IllegalStateException(misses + " events did not become visible within 5 s");
        }
        Arrays.sort(visible);
        Arrays.sort(acked);
        String note = String.format(Locale.ROOT, "%d events at %d/s after %d warm-up; producer as the pods' (acks=all, idempotent, linger 5 ms)",
                visible.length, perSecond, warm);
        add("3 event->visible", "publish -> index.holds p50", pct(visible, 0.5) / 1e6, "ms", null, 0,
                "publish -> broker ack p50", pct(acked, 0.5) / 1e6, note);
        add("3 event->visible", "publish -> index.holds p99", pct(visible, 0.99) / 1e6, "ms", "<=", 50,
                "publish -> broker ack p99", pct(acked, 0.99) / 1e6, note);
    }

    // ---------------------------------------------------------------- 5. bootstrap

    private void bootstrap(KafkaBroker broker, PrefixIndex source, Workload workload) throws Exception {
        StreamSettings settings = settings(broker, "bench.bootstrap");
        createTopics(broker, settings);
        IndexStats sourceStats = source.stats();
        progress(String.format(Locale.ROOT, "5. bootstrap: writing kv-index snapshots of %d pods", sourceStats.pods()));
        Map<Integer, Long> positions = new HashMap<>();
        for (int p = 0; p < settings.partitions(); p++) {
            positions.put(p, 0L);
        }
        try (SnapshotWriter writer = new SnapshotWriter(settings, source, Duration.ZERO, Duration.ofDays(1));
             KafkaProducer<String, byte[]> producer = podProducer(settings)) {
            writer.afterPoll(positions, Set.copyOf(source.pods()));
            for (String pod : source.pods()) {
                producer.send(new ProducerRecord<>(settings.topics().podStatus(), pod, codec.encode(status(pod))));
            }
            producer.flush();
        }
        long snapshots = endOffsets(broker, settings.topics().kvIndex());
        if (snapshots != sourceStats.pods()) {
            throw new IllegalStateException("kv-index holds " + snapshots + " snapshots, expected " + sourceStats.pods());
        }
        // Baseline: the same snapshots decoded and restored from memory.
        List<byte[]> encoded = new ArrayList<>();
        long bytes = 0;
        for (String pod : source.pods()) {
            byte[] value = codec.encode(source.snapshot(pod, positions).orElseThrow());
            encoded.add(value);
            bytes += value.length;
        }
        double memorySeconds = Double.MAX_VALUE;
        for (int round = 0; round < 2; round++) {
            PrefixIndex restored = new PrefixIndex();
            long start = System.nanoTime();
            for (byte[] value : encoded) {
                PodIndexSnapshot snapshot = codec.decodeSnapshot(value);
                restored.restore(snapshot);
            }
            memorySeconds = Math.min(memorySeconds, (System.nanoTime() - start) / 1e9);
        }
        encoded = null;
        System.gc();
        progress("5. bootstrap: a fresh follower restores them");
        PrefixIndex index = new PrefixIndex();
        long start = System.nanoTime();
        try (IndexFollower follower = new IndexFollower(settings, index, new LivePods(index, 3_600_000), true, FollowerListener.NONE)) {
            follower.start();
            if (!follower.awaitCaughtUp(Duration.ofSeconds(120))) {
                throw new IllegalStateException("the bootstrapping follower did not catch up in 120 s");
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            IndexStats stats = index.stats();
            if (stats.distinctBlocks() != sourceStats.distinctBlocks()
                    || stats.deviceEntries() + stats.hostEntries() != sourceStats.deviceEntries() + sourceStats.hostEntries()) {
                throw new IllegalStateException("bootstrapped index differs: " + stats + " vs " + sourceStats);
            }
            add("5 bootstrap", "snapshot bootstrap to caught up", seconds, "s", "<=", 5,
                    "decode+restore from memory", memorySeconds,
                    String.format(Locale.ROOT, "%,d distinct blocks, %,d entries, %d pods, %.1f MB of snapshots",
                            stats.distinctBlocks(), stats.deviceEntries() + stats.hostEntries(), stats.pods(), bytes / 1e6));
        }
    }

    // ---------------------------------------------------------------- 4. router added latency

    private void routerLatency() throws Exception {
        Path runs = options.root.resolve(".kvmesh/runs/bench-router-"
                + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        progress("4. router latency: starting the local mesh (broker, cache index, 1 sim pod, router)");
        // Near-zero costs (tens to hundreds of µs per request, the same on both paths). Exactly zero lets the engine
        // finish a request before the pod's HTTP handler has installed its close handler, which the pod then logs as an
        // error with a stack trace on every request (OpenAiRoutes.serve), costing CPU on both paths.
        Map<String, String> sim = Map.of(
                "kvmesh.sim.prefill-micros-per-token", "10",
                "kvmesh.sim.decode-step-micros", "100",
                "kvmesh.sim.decode-micros-per-sequence", "0");
        // One pod: requests through the router and straight to the pod meet the same queue and the same cache, so the
        // difference is the router's hop and work alone (with two, prefix-aware routing would stack the routed requests
        // on one pod while the direct ones spread, and that difference would be counted as router latency).
        try (LocalMesh mesh = LocalMesh.start(LocalMesh.Options.defaults(options.root).withPods(1).withRouterPort(0)
                .withRunDirectory(runs).withSettings(sim)
                // Prefix groups hold a request sharing a prefix until its leader's blocks are cached (up to max-wait):
                // a deliberate wait for cache hits, not routing overhead; every prompt here shares a 16-block prefix.
                .withRouterSettings(Map.of("kvmesh.groups.window", "0s")), line -> { })) {
            Optional<CpuPinning> pinning = options.pin ? CpuPinning.routerApart() : Optional.empty();
            pinning.ifPresent(pins -> {
                pins.router(mesh.router().pid());
                pins.other(ProcessHandle.current().pid());
                pins.other(mesh.broker().pid());
                pins.other(mesh.cacheIndex().pid());
                mesh.runtimes().forEach(pod -> pins.other(pod.pid()));
            });
            String cores = pinning.map(CpuPinning::describe)
                    .orElse("generator, router, 1 pod, cache index and Kafka share " + Runtime.getRuntime().availableProcessors() + " CPUs");
            try {
                measureLatency(mesh, cores);
            } finally {
                pinning.ifPresent(pins -> pins.release(ProcessHandle.current().pid()));
            }
        }
    }

    private void measureLatency(LocalMesh mesh, String cores) throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(2)).executor(Executors.newFixedThreadPool(2, Thread.ofPlatform().daemon().factory())).build();
        String router = mesh.routerUrl();
        List<String> pods = mesh.runtimes().stream().map(ServiceProcess::url).toList();
        String prefix = "You are the kvmesh benchmark assistant; answer in one word. ".repeat(5).substring(0, 256);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            HttpResponse<String> response = client.send(request(router, prefix + "ready?"), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() == 200) {
                break;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("router answers " + response.statusCode() + ": " + response.body());
            }
            Thread.sleep(200);
        }
        int light = Math.max(2, options.rate / 10);
        progress(String.format(Locale.ROOT, "4. router latency: warm-up %.0f s at %d req/s, %.0f s at %d req/s, then %.0f s at %d req/s "
                        + "through the router (and a quarter of that straight to the pod, interleaved)",
                options.warmSeconds, light * 2, options.loadSeconds, light, options.loadSeconds, options.rate));
        // Warm the JIT below saturation: a backlog left by an overload would spoil the light phase.
        load(client, router, pods, prefix, light * 2, options.warmSeconds);
        // Then briefly at the full rate: the router's pool then holds the connections to the pod that this load needs,
        // as it would after any minute in service, instead of opening them (a connect each) inside the measurement.
        load(client, router, pods, prefix, options.rate, Math.min(3, options.warmSeconds));
        Thread.sleep(2000);
        List<String> parts = List.of("kvmesh_router_overhead_seconds", "kvmesh_router_decision_seconds",
                "kvmesh_router_dispatch_seconds", "kvmesh_router_relay_seconds");
        List<OverheadBuckets> before = OverheadBuckets.scrapeAll(client, router, parts);
        Load unloaded = load(client, router, pods, prefix, light, options.loadSeconds);
        List<OverheadBuckets> lightParts = OverheadBuckets.minus(OverheadBuckets.scrapeAll(client, router, parts), before);
        Thread.sleep(1000);
        before = OverheadBuckets.scrapeAll(client, router, parts);
        Load load = load(client, router, pods, prefix, options.rate, options.loadSeconds);
        List<OverheadBuckets> loadParts = OverheadBuckets.minus(OverheadBuckets.scrapeAll(client, router, parts), before);
        for (Load l : List.of(load, unloaded)) {
            String at = " @" + l.rate;
            List<OverheadBuckets> measured = l == load ? loadParts : lightParts;
            OverheadBuckets held = measured.get(0);
            String note = String.format(Locale.ROOT, "%,d via router, %,d direct, %d errors, %d not sent (%d in flight); "
                            + "%.0f req/s via router completed (offered %d); prefix groups off; %s",
                    l.router.length, l.direct.length, l.errors, l.notSent, MAX_IN_FLIGHT, l.completedRouterRate, l.rate, cores);
            double r50 = pct(l.router, 0.5) / 1e6;
            double r99 = pct(l.router, 0.99) / 1e6;
            double d50 = pct(l.direct, 0.5) / 1e6;
            double d99 = pct(l.direct, 0.99) / 1e6;
            boolean goalRate = l == load;
            add("4 router latency", "through the router p50" + at, r50, "ms", null, 0, "straight to the pod p50", d50, note);
            add("4 router latency", "through the router p99" + at, r99, "ms", null, 0, "straight to the pod p99", d99, note);
            add("4 router latency", "router added p50" + at, r50 - d50, "ms", null, 0, null, null, "router p50 - direct p50");
            add("4 router latency", "router added p99" + at, r99 - d99, "ms", goalRate ? "<=" : null, 1, null, null,
                    "router p99 - direct p99" + (goalRate ? "" : "; a light load, below saturation, for the router's own cost"));
            String inside = String.format(Locale.ROOT, "kvmesh_router_overhead_seconds over %,d requests: read -> sent to the pod + pod's head -> client's head; bucket-interpolated",
                    held.count());
            add("4 router latency", "router's own time p50" + at, held.quantile(0.5) * 1e3, "ms", null, 0, null, null, inside);
            add("4 router latency", "router's own time p99" + at, held.quantile(0.99) * 1e3, "ms", goalRate ? "<=" : null, 1, null, null, inside);
            OverheadBuckets decided = measured.get(1);
            add("4 router latency", "of which deciding p50 / p99" + at, decided.quantile(0.5) * 1e3, "ms", null, 0,
                    "deciding p99", decided.quantile(0.99) * 1e3,
                    "kvmesh_router_decision_seconds: parse, tokenize, hash, rank (the router's CPU work per request)");
            add("4 router latency", "dispatch p50 / p99" + at, measured.get(2).quantile(0.5) * 1e3, "ms", null, 0,
                    "dispatch p99", measured.get(2).quantile(0.99) * 1e3,
                    "kvmesh_router_dispatch_seconds: read -> written to the pod (deciding included)");
            add("4 router latency", "relay p50 / p99" + at, measured.get(3).quantile(0.5) * 1e3, "ms", null, 0,
                    "relay p99", measured.get(3).quantile(0.99) * 1e3,
                    "kvmesh_router_relay_seconds: pod's response head -> client's head");
        }
        try {
            LatencyPlot.write(options.png, List.of(
                    new LatencyPlot.Series("router @" + load.rate + " req/s", load.router),
                    new LatencyPlot.Series("direct @" + load.rate / DIRECT_EVERY + " req/s", load.direct),
                    new LatencyPlot.Series("router @" + unloaded.rate + " req/s", unloaded.router),
                    new LatencyPlot.Series("direct @" + unloaded.rate / DIRECT_EVERY + " req/s", unloaded.direct)));
            System.out.println("wrote " + options.png.toAbsolutePath());
        } catch (Exception | Error e) {
            System.out.println("no latency plot: " + e);
        }
    }

    private record Load(int rate, long[] router, long[] direct, int errors, int notSent, double completedRouterRate) {
    }

    /** Beyond this many open requests the generator skips a tick (counted) rather than open ever more connections. */
    private static final int MAX_IN_FLIGHT = 512;

    /** Every DIRECT_EVERY-th tick also sends a request straight to the pod, the baseline. */
    private static final int DIRECT_EVERY = 4;

    /** The router's {@code kvmesh_router_overhead_seconds} histogram: cumulative counts per upper bound. */
    record OverheadBuckets(double[] bounds, double[] counts) {

        static OverheadBuckets scrape(HttpClient client, String router) throws Exception {
            return scrape(client, router, "kvmesh_router_overhead_seconds");
        }

        static OverheadBuckets scrape(HttpClient client, String router, String histogram) throws Exception {
            String text = client.send(HttpRequest.newBuilder(URI.create(router + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            java.util.regex.Matcher m = java.util.regex.Pattern
                    .compile(histogram + "_bucket\\{le=\"([^\"]+)\"} ([0-9.eE+]+)").matcher(text);
            List<double[]> rows = new java.util.ArrayList<>();
            while (m.find()) {
                rows.add(new double[] {m.group(1).equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(m.group(1)),
                        Double.parseDouble(m.group(2))});
            }
            if (rows.isEmpty()) {
                throw new IllegalStateException("the router's /metrics has no " + histogram + " histogram");
            }
            return new OverheadBuckets(rows.stream().mapToDouble(r -> r[0]).toArray(), rows.stream().mapToDouble(r -> r[1]).toArray());
        }

        static List<OverheadBuckets> scrapeAll(HttpClient client, String router, List<String> histograms) throws Exception {
            List<OverheadBuckets> all = new java.util.ArrayList<>();
            for (String histogram : histograms) {
                all.add(scrape(client, router, histogram));
            }
            return all;
        }

        static List<OverheadBuckets> minus(List<OverheadBuckets> now, List<OverheadBuckets> earlier) {
            List<OverheadBuckets> delta = new java.util.ArrayList<>();
            for (int i = 0; i < now.size(); i++) {
                delta.add(now.get(i).minus(earlier.get(i)));
            }
            return delta;
        }

        OverheadBuckets minus(OverheadBuckets earlier) {
            double[] counts = new double[this.counts.length];
            for (int i = 0; i < counts.length; i++) {
                counts[i] = this.counts[i] - earlier.counts[i];
            }
            return new OverheadBuckets(bounds, counts);
        }

        long count() {
            return (long) counts[counts.length - 1];
        }

        /** Linear within the bucket, as Prometheus' histogram_quantile does; NaN without observations. */
        double quantile(double q) {
            double rank = q * count();
            for (int i = 0; i < counts.length; i++) {
                if (counts[i] >= rank && count() > 0) {
                    if (Double.isInfinite(bounds[i])) {
                        return bounds[i - 1];
                    }
                    double lower = i == 0 ? 0 : bounds[i - 1];
                    double below = i == 0 ? 0 : counts[i - 1];
                    double inBucket = counts[i] - below;
                    return lower + (bounds[i] - lower) * (inBucket == 0 ? 1 : (rank - below) / inBucket);
                }
            }
            return Double.NaN;
        }
    }

    /** Open loop: a request every 1/rate s through the router and every {@link #DIRECT_EVERY}-th tick one straight to a pod. */
    private Load load(HttpClient client, String router, List<String> pods, String prefix, int rate, double seconds)
            throws InterruptedException {
        int ticks = (int) (rate * seconds);
        long[] routerLatency = new long[ticks];
        long[] directLatency = new long[ticks / DIRECT_EVERY + 1];
        Arrays.fill(routerLatency, -1);
        Arrays.fill(directLatency, -1);
        AtomicInteger errors = new AtomicInteger();
        AtomicInteger inFlight = new AtomicInteger();
        int notSent = 0;
        CountDownLatch done = new CountDownLatch(ticks + (ticks + DIRECT_EVERY - 1) / DIRECT_EVERY);
        long period = 1_000_000_000L / rate;
        long start = System.nanoTime();
        SplittableRandom random = new SplittableRandom();
        for (int i = 0; i < ticks; i++) {
            LockSupport.parkNanos(start + i * period - System.nanoTime());
            String tail = Long.toHexString(random.nextLong());
            if (!send(client, request(router, prefix + tail), routerLatency, i, errors, inFlight, done)) {
                notSent++;
            }
            if (i % DIRECT_EVERY == 0 && !send(client, request(pods.get((i / DIRECT_EVERY) % pods.size()), prefix + tail + "!"), directLatency, i / DIRECT_EVERY,
                    errors, inFlight, done)) {
                notSent++;
            }
        }
        if (!done.await(30, TimeUnit.SECONDS)) {
            System.out.println("  " + done.getCount() + " requests still open after 30 s; counted as errors");
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        long completed = Arrays.stream(routerLatency).filter(v -> v >= 0).count();
        return new Load(rate, Arrays.stream(routerLatency).filter(v -> v >= 0).sorted().toArray(),
                Arrays.stream(directLatency).filter(v -> v >= 0).sorted().toArray(), errors.get() + (int) done.getCount(),
                notSent, completed / elapsed);
    }

    private static boolean send(HttpClient client, HttpRequest request, long[] latencies, int slot, AtomicInteger errors,
                                AtomicInteger inFlight, CountDownLatch done) {
        if (inFlight.get() >= MAX_IN_FLIGHT) {
            done.countDown();
            return false;
        }
        inFlight.incrementAndGet();
        long t0 = System.nanoTime();
        client.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray()).whenComplete((response, error) -> {
            long t1 = System.nanoTime();
            inFlight.decrementAndGet();
            if (error == null && response.statusCode() == 200) {
                latencies[slot] = t1 - t0;
            } else {
                errors.incrementAndGet();
            }
            done.countDown();
        });
        return true;
    }

    private static HttpRequest request(String baseUrl, String prompt) {
        String body = "{\"model\":\"" + SIM_MODEL + "\",\"prompt\":\"" + prompt + "\",\"max_tokens\":1}";
        return HttpRequest.newBuilder(URI.create(baseUrl + "/v1/completions")).timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    // ---------------------------------------------------------------- Kafka helpers

    private static StreamSettings settings(KafkaBroker broker, String prefix) {
        return new StreamSettings(broker.bootstrapServers(), new PoolTopics(prefix), 4, Duration.ofHours(1), true);
    }

    /** Creates the pool's topics and waits until every partition has a leader. */
    private static void createTopics(KafkaBroker broker, StreamSettings settings) throws Exception {
        PoolTopicsAdmin.ensureTopics(settings);
        List<String> topics = List.of(settings.topics().kvEvents(), settings.topics().podStatus(), settings.topics().kvIndex());
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline) {
                boolean ready = admin.describeTopics(topics).allTopicNames().get(30, TimeUnit.SECONDS).values().stream()
                        .allMatch(d -> d.partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty()));
                if (ready) {
                    Thread.sleep(200);
                    return;
                }
                Thread.sleep(100);
            }
        }
    }

    /** The producer settings of {@link io.kvmesh.streams.PodEventPublisher} (acks=all, idempotent, linger 5 ms). */
    private static KafkaProducer<String, byte[]> podProducer(StreamSettings settings) {
        Properties config = new Properties();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        config.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        config.put(ProducerConfig.CLIENT_ID_CONFIG, "kvmesh-bench-publisher");
        return new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer());
    }

    private static PodStatus status(String pod) {
        return new PodStatus(pod, 1, "http://127.0.0.1:1", SIM_MODEL, BLOCK_SIZE, true, 0, 0, 0,
                new BlockUsage(0, 1000), new BlockUsage(0, 1000), 0.0, 0.0, System.currentTimeMillis());
    }

    private static long endOffsets(KafkaBroker broker, String topic) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
            var partitions = admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic).partitions();
            Map<TopicPartition, OffsetSpec> request = new HashMap<>();
            partitions.forEach(p -> request.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
            return admin.listOffsets(request).all().get(30, TimeUnit.SECONDS).values().stream()
                    .mapToLong(info -> info.offset()).sum();
        }
    }

    // ---------------------------------------------------------------- output

    private void add(String section, String name, double value, String unit, String op, double goal,
                     String baselineName, Double baselineValue, String note) {
        String goalText = op == null ? "" : op + " " + format(goal) + " " + unit;
        Boolean met = op == null ? null : op.equals("<=") ? value <= goal : value >= goal;
        figures.add(new Figure(section, name, value, unit, goalText, met, baselineName, baselineValue, note));
    }

    private Figure find(String name) {
        return figures.stream().filter(f -> f.name.equals(name)).findFirst().orElse(null);
    }

    private void printTable() {
        System.out.println();
        System.out.println("load average at the end: " + loadAverage());
        System.out.printf(Locale.ROOT, "%-17s %-45s %24s %-26s %-8s %s%n", "section", "figure", "value", "goal", "status",
                "baseline (same run)");
        for (Figure f : figures) {
            String baseline = f.baselineName == null ? "" : f.baselineName + ": " + format(f.baselineValue) + " " + f.unit;
            System.out.printf(Locale.ROOT, "%-17s %-45s %24s %-26s %-8s %s%n", f.section, f.name,
                    format(f.value) + " " + f.unit, f.goal, f.met == null ? "" : f.met ? "met" : "NOT MET", baseline);
        }
        System.out.println();
        for (Figure f : figures) {
            if (f.note != null && !f.note.isEmpty()) {
                System.out.println("  " + f.name + ": " + f.note);
            }
        }
    }

    private void writeCsv() throws IOException {
        Path csv = options.csv.toAbsolutePath();
        Files.createDirectories(csv.getParent());
        StringBuilder text = new StringBuilder("section,figure,value,unit,goal,status,baseline,baseline_value,note\n");
        for (Figure f : figures) {
            text.append(String.join(",", quote(f.section), quote(f.name), String.format(Locale.ROOT, "%.4f", f.value),
                    quote(f.unit), quote(f.goal), f.met == null ? "" : f.met ? "met" : "not met",
                    quote(f.baselineName == null ? "" : f.baselineName),
                    f.baselineValue == null ? "" : String.format(Locale.ROOT, "%.4f", f.baselineValue),
                    quote(f.note == null ? "" : f.note))).append('\n');
        }
        Files.writeString(csv, text);
        System.out.println("wrote " + csv);
    }





    // ---------------------------------------------------------------- misc





}
