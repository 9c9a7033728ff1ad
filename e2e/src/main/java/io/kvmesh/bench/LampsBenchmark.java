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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.StringJoiner;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

import io.kvmesh.model.gen.ModelGenerator;
import io.kvmesh.model.gen.ModelShape;
import io.kvmesh.model.gguf.GgmlType;
import io.kvmesh.prefix.blocks.BlockHasher;
import io.kvmesh.prefix.events.Medium;
import io.kvmesh.runtime.cpu.CpuBackend;
import io.kvmesh.runtime.engine.Engine;
import io.kvmesh.runtime.engine.EngineStats;
import io.kvmesh.runtime.engine.FinishReason;
import io.kvmesh.runtime.engine.ForwardBackend;
import io.kvmesh.runtime.engine.GenerationRequest;
import io.kvmesh.runtime.engine.PauseStats;
import io.kvmesh.runtime.engine.SamplingParams;
import io.kvmesh.runtime.engine.Scheduler;
import io.kvmesh.runtime.engine.SequenceState;
import io.kvmesh.runtime.engine.TokenSink;
import io.kvmesh.runtime.engine.WaitingQueue;
import io.kvmesh.runtime.kv.BlockPool;
import io.kvmesh.runtime.kv.KvCacheManager;
import io.kvmesh.runtime.kv.KvEventSink;
import io.kvmesh.runtime.lamps.CallDurationPredictor;
import io.kvmesh.runtime.lamps.CostProfile;
import io.kvmesh.runtime.lamps.ForwardCostModel;
import io.kvmesh.runtime.lamps.PauseDecisions;
import io.kvmesh.runtime.lamps.PausePolicy;
import io.kvmesh.runtime.lamps.SessionLengthPredictor;
import io.kvmesh.runtime.model.LlamaModel;
import io.kvmesh.runtime.sim.SimBackend;
import io.kvmesh.runtime.sim.SimCostModel;
import io.kvmesh.runtime.sim.VirtualClock;

/**
 * {@code ./kvmesh bench lamps}: an InferCept-style agentic workload ({@link LampsWorkload}) through the real in-process
 * {@link Engine} under each of the five pause policies (keep, discard, swap, infercept, lamps), one after another in
 * one process, each on a fresh engine with the same sessions.
 * <ol>
 * <li>{@code sim}: the sim backend priced in InferCept's profile (iteration 0.33 ms per token + 24 ms, swap
 * 0.04 ms per token), a device KV pool small enough that memory is the bottleneck and a host tier for swaps; every
 * duration (calls, costs, arrivals) divided by one time compression so ≥ 1,000 sessions take about a minute a
 * policy.</li>
 * <li>{@code cpu}: a few sessions on a generated tiny Llama on the cpu backend: real forward passes, real copies
 * between the two KV stores on swap, real recomputation on discard.</li>
 * </ol>
 * Per policy: sessions completed, session end-to-end latency (first submit to last finish, calls included), per-turn
 * latency (calls excluded), time to first token after a resume, throughput, device and host KV usage sampled every
 * 50 ms, the pause decisions and what they cost; then LAMPS' goals against InferCept and keep. Prints a table, writes
 * {@code bench-results/lamps.csv} and {@code bench-results/lamps.png} (KV usage over time and E2E per policy).
 * The sim section runs in virtual time by default: a discrete-event loop steps the engine, whose clock the sim backend
 * advances by each iteration's modelled cost, so a run is deterministic, independent of the machine's load and takes
 * seconds; {@code --wall-clock} runs it in compressed wall time instead, the engine on its own thread. The cpu section
 * is measured wall time of its compressed run.
 */
public final class LampsBenchmark {

    private static final int BLOCK_SIZE = 16;
    /** GPT-J 6B (InferCept's model): 28 layers x (K + V) x 4096 x fp16. */
    private static final double SIM_KV_BYTES_PER_TOKEN = 28 * 2 * 4096 * 2;
    /** KV usage is sampled every 2 workload seconds (50 ms of wall time at the wall-clock run's default 40x). */
    private static final double SAMPLE_WORKLOAD_SECONDS = 2;
    /** The cpu run's time compression (a 25 s chat reply takes 0.25 s) and arrival rate. */
    private static final double CPU_COMPRESSION = 100;
    private static final double CPU_ARRIVALS_PER_WALL_SECOND = 6;

    /** One measured number; {@code policy} is empty for a figure of the whole section, {@code met} null without a goal. */
    public record Figure(String section, String policy, String name, double value, String unit, String goal, Boolean met,
                         String baselineName, Double baselineValue, String note) {
    }

    /** What to run, from the command line. */
    public record Options(int sessions, int cpuSessions, boolean cpu, boolean quick, boolean trueSizeOrder, LampsWorkload.Mix mix,
                          double rate, boolean wallClock, double compression,
                          double starvationSeconds, int deviceBlocks, int hostBlocks, long seed, List<PausePolicy> policies, Path csv, Path png,
                          Path model, Path root) {

        static Options parse(String[] args) {
            boolean quick = has(args, "--quick");
            Path root = Path.of(System.getProperty("io.kvmesh.root", ".")).toAbsolutePath().normalize();
            List<PausePolicy> policies = Arrays.stream(stringArg(args, "--policies", "keep,discard,swap,infercept,lamps").split(","))
                    .map(PausePolicy::parse).toList();
            return new Options(
                    intArg(args, "--sessions", quick ? 100 : 1000),
                    intArg(args, "--cpu-sessions", quick ? 6 : 12),
                    !has(args, "--no-cpu"), quick, has(args, "--true-size-order"),
                    LampsWorkload.Mix.parse(stringArg(args, "--mix", "infercept")),
                    doubleArg(args, "--rate", 0.4),
                    has(args, "--wall-clock"),
                    // Virtual time needs no compression: the run takes what the engine's own work takes.
                    has(args, "--wall-clock") ? doubleArg(args, "--compress", quick ? 80 : 40) : 1,
                    doubleArg(args, "--starvation", 60),
                    intArg(args, "--device-blocks", 1024),
                    intArg(args, "--host-blocks", 8192),
                    intArg(args, "--seed", 42),
                    policies,
                    Path.of(stringArg(args, "--csv", root.resolve("bench-results/lamps.csv").toString())),
                    Path.of(stringArg(args, "--png", root.resolve("bench-results/lamps.png").toString())),
                    Path.of(stringArg(args, "--model", root.resolve(".kvmesh/models/tiny-q8_0.gguf").toString())),
                    root);
        }
    }

    /** How one section's engines are built: pools, scheduler limits, the backend and the compressed clock. */
    record Setup(String section, String description, int deviceBlocks, int hostBlocks, int tokenBudget, int maxRunning,
                 int maxContextTokens, double compression, double kvBytesPerToken, ForwardCostModel initialForward,
                 double initialSwapSecondsPerToken, boolean virtualTime, Function<VirtualClock, ForwardBackend> backend) {

        Duration scaled(double workloadSeconds) {
            return Duration.ofNanos(Math.round(workloadSeconds * 1e9 / compression));
        }
    }

    /** Device and host KV usage over one run, sampled every {@value #SAMPLE_WORKLOAD_SECONDS} workload seconds. */
    record KvSeries(double[] seconds, double[] device, double[] host, int[] waiting, int[] running, double[] pinned) {
    }

    /** Everything one policy's run measured. Latencies are sorted, in nanoseconds. */
    record PolicyRun(PausePolicy policy, boolean trueSizes, int sessions, int completed, int errors, List<String> errorSamples,
                     double seconds, long[] e2e, long[] turnLatency, long[] resumeTtft, long outputTokens,
                     long resumedCachedTokens, long resumedPromptTokens, KvSeries kv, PauseStats pause, EngineStats stats,
                     Map<String, long[]> decisionsByTool, Map<String, Double> meanE2eByTool, double meanE2eLowerBoundSeconds,
                     String stall) {

        double meanE2eSeconds() {
            return mean(e2e) / 1e9;
        }

        /** The column name: the policy's, with "*" for the run ordered by the sessions' true sizes. */
        String label() {
            return policy.configName() + (trueSizes ? "*" : "");
        }
    }

    private final Options options;
    private final List<Figure> figures = new ArrayList<>();
    private final Map<String, List<PolicyRun>> runs = new LinkedHashMap<>();

    private LampsBenchmark(Options options) {
        this.options = options;
    }

    public static void main(String[] args) throws Exception {
        if (has(args, "--help")) {
            System.out.println("""
                    usage: ./kvmesh bench lamps [--quick] [--sessions N] [--cpu-sessions N] [--no-cpu] [--csv FILE] [--png FILE]
                                                [--rate R] [--wall-clock] [--compress K] [--starvation S] [--device-blocks N] [--host-blocks N] [--seed S]
                                                [--policies keep,discard,swap,infercept,lamps] [--true-size-order] [--mix infercept|uniform]
                                                [--model FILE.gguf]
                      An InferCept-style agentic workload (tool calls from milliseconds to a minute) through the in-process
                      engine under each pause policy, one after another on fresh engines; table + CSV + PNG.
                      --quick          100 sim sessions, 6 cpu sessions (a smoke run)
                      --sessions N     sim sessions per policy (default 1000)
                      --cpu-sessions N sessions of the cpu run (default 12); --no-cpu skips it
                      --rate R         sim session arrivals per workload second, Poisson (default 0.4)
                      --wall-clock     run the sim section in compressed wall time, the engine on its own thread, instead
                                       of the default virtual time (a deterministic discrete-event run, seconds per policy)
                      --compress K     with --wall-clock: divide every sim duration (calls, costs, arrivals, timeouts) by K
                                       (default 40, quick 80)
                      --starvation S   lamps' waiting queue serves a request first once it has waited S workload seconds (default 60)
                      --mix M          infercept (default): sessions sized by their tool as in InferCept's workloads
                                       (agent-env ~28 short calls, image/TTS one or two long ones); uniform: every
                                       session 1-6 calls and the same prompt/turn sizes whatever its tool
                      --true-size-order  one more sim run, "lamps*": lamps with its waiting queue ordered by each session's
                                       true remaining memory x time, which only the benchmark knows (the best any order can do)
                      --device-blocks / --host-blocks   the sim engine's KV pools, 16-token blocks (default 1024 / 8192)
                      --model FILE     the cpu run's model (default .kvmesh/models/tiny-q8_0.gguf, generated if absent)""");
            return;
        }
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        // The engine logs through JBoss Logging, here onto java.util.logging: its start-up profile line is INFO.
        java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.WARNING);
        run(args);
    }

    /** Runs the sections the options ask for, prints the table, writes the CSV and PNG; returns the figures. */
    public static List<Figure> run(String[] args) throws Exception {
        return new LampsBenchmark(Options.parse(args)).runAll();
    }

    private List<Figure> runAll() throws Exception {
        System.out.println("load average at start (other processes share these cores): " + loadAverage());
        System.out.printf(Locale.ROOT, "lamps benchmark: %d cores, max heap %d MiB, policies %s%s%n",
                Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20,
                options.policies.stream().map(PausePolicy::configName).toList(), options.quick ? " (quick)" : "");

        if (options.sessions > 0) {
            LampsWorkload simWorkload = LampsWorkload.generate(options.sessions, options.rate, LampsWorkload.Shape.sim(options.mix), options.seed);
            runSection(simSetup(simWorkload), simWorkload);
        }

        if (options.cpu && options.cpuSessions > 0) {
            Path model = ensureModel(options.model);
            try (LlamaModel llama = LlamaModel.load(model)) {
                // Arrivals spread over about two seconds of wall time: the tiny model serves a few sessions at a time.
                LampsWorkload cpuWorkload = LampsWorkload.generate(options.cpuSessions, CPU_ARRIVALS_PER_WALL_SECOND / CPU_COMPRESSION,
                        LampsWorkload.Shape.cpu(options.mix), options.seed + 1);
                Setup cpu = cpuSetup(llama, model, cpuWorkload);
                runSection(cpu, cpuWorkload);
            }
        }
        goals();
        printTables();
        writeCsv();
        LampsPlot.write(options.png, runs, options.quick, !options.wallClock);
        System.out.println("wrote " + options.png.toAbsolutePath());
        return List.copyOf(figures);
    }

    // ---------------------------------------------------------------- setups

    private Setup simSetup(LampsWorkload workload) {
        double k = options.compression;
        // InferCept's 6B profile: iteration 0.328 ms per token + 24.1 ms, swap ~0.04 ms per token; all divided by k.
        SimCostModel cost = new SimCostModel(Duration.ofNanos(Math.round(0.33e6 / k)), Duration.ofNanos(Math.round(24e6 / k)),
                Duration.ofNanos(Math.round(0.33e6 / k)), Duration.ofNanos(Math.round(0.04e6 / k)));
        String description = String.format(Locale.ROOT,
                "sim backend (InferCept's 6B profile%s), device %d blocks (%,d tokens), host %d blocks, token budget 512, "
                        + "lamps starvation %.0f s, %d sessions at %.2f/s workload time (%s), %s mix: %s",
                options.wallClock ? String.format(Locale.ROOT, " / %.0f", k) : "", options.deviceBlocks, options.deviceBlocks * BLOCK_SIZE, options.hostBlocks, options.starvationSeconds, workload.sessions.size(),
                workload.ratePerSecond, options.wallClock ? String.format(Locale.ROOT, "%.1f/s wall", workload.ratePerSecond * k)
                        : "virtual time: a discrete-event run, the engine stepped by the driver", options.mix.name().toLowerCase(Locale.ROOT), workload.toolMix());
        return new Setup("sim", description, options.deviceBlocks, options.hostBlocks, 512, 256, 8192, k,
                SIM_KV_BYTES_PER_TOKEN, new ForwardCostModel(0, 0.33e-3 / k, 24e-3 / k), 0.04e-3 / k, !options.wallClock,
                clock -> new SimBackend(cost, BLOCK_SIZE, clock));
    }

    private Setup cpuSetup(LlamaModel llama, Path model, LampsWorkload workload) {
        double k = CPU_COMPRESSION;
        int device = 40;
        int host = 256;
        double kvBytesPerToken = 2.0 * llama.config().layers() * llama.config().kvDim() * Float.BYTES;
        String description = String.format(Locale.ROOT,
                "cpu backend, %s (%s), device %d blocks (%d tokens), host %d blocks, %d sessions at %.2f/s workload time, "
                        + "durations / %.0f",
                model.getFileName(), llama.config().dim() + "-dim x " + llama.config().layers() + " layers", device,
                device * BLOCK_SIZE, host, workload.sessions.size(), workload.ratePerSecond, k);
        return new Setup("cpu", description, device, host, 256, 32, device * BLOCK_SIZE, k, kvBytesPerToken,
                new ForwardCostModel(0, 2e-4, 1e-2), 4e-5, false, clock -> new CpuBackend(llama, device, host, BLOCK_SIZE));
    }

    private static Path ensureModel(Path model) throws IOException {
        if (!Files.isRegularFile(model)) {
            progress("generating " + model);
            Files.createDirectories(model.toAbsolutePath().getParent());
            ModelGenerator.write(ModelShape.preset("tiny"), GgmlType.Q8_0, 42, model);
        }
        return model;
    }

    /** A fresh engine; in virtual time timed by {@code clock} and not started (the driver steps it), else started. */
    private Engine engine(Setup setup, PausePolicy policy, ToDoubleFunction<SequenceState> trueArea, VirtualClock clock) {
        KvCacheManager kv = new KvCacheManager(new BlockPool(setup.deviceBlocks, BLOCK_SIZE, KvEventSink.NONE),
                new BlockPool(setup.hostBlocks, BLOCK_SIZE, KvEventSink.NONE, Medium.HOST),
                new BlockHasher("bench-lamps", "", BLOCK_SIZE));
        double k = setup.compression;
        PauseDecisions decisions = new PauseDecisions(policy, setup.kvBytesPerToken,
                new CostProfile(512, 32, setup.initialForward, setup.initialSwapSecondsPerToken),
                new CallDurationPredictor(32, 2.0 / k, LampsWorkload.roughDefaults(k)));
        WaitingQueue waiting = policy.ordersByMemoryTime()
                ? WaitingQueue.memoryTimeOrder(trueArea != null ? trueArea : s -> decisions.area(s.tokenCount(), s.remainingTokens(), s.toolCall(), s.sessionTurn()),
                        setup.scaled(options.starvationSeconds).toNanos())
                : WaitingQueue.arrivalOrder();
        Engine engine = new Engine(kv, new Scheduler(kv, setup.tokenBudget, setup.maxRunning, waiting), setup.backend.apply(clock),
                setup.maxContextTokens, decisions, setup.scaled(300)).profilingAtStart();
        if (clock != null) {
            return engine.timedBy(clock);
        }
        engine.start();
        return engine;
    }

    // ---------------------------------------------------------------- one section

    private void runSection(Setup setup, LampsWorkload workload) throws Exception {
        System.out.println();
        System.out.printf(Locale.ROOT, "[%s] %s%n", setup.section, setup.description);
        System.out.printf(Locale.ROOT, "  %d sessions, %d turns, %d calls (mean %.2f s workload time), mean prompt %.0f tokens, "
                        + "longest context %d tokens, arrivals over %.1f s%s%n",
                workload.sessions.size(), workload.turns(), workload.calls(), workload.meanCallSeconds(), workload.meanPrompt(),
                workload.maxContext(), workload.lastArrivalSeconds() / setup.compression, setup.virtualTime ? " (virtual time)" : " wall");
        List<PolicyRun> results = new ArrayList<>();
        List<Driver> drivers = new ArrayList<>(options.policies.stream().map(policy -> new Driver(setup, workload, policy, false)).toList());
        if (options.trueSizeOrder && setup.section.equals("sim")) {
            drivers.add(new Driver(setup, workload, PausePolicy.LAMPS, true));
        }
        for (Driver driver : drivers) {
            PolicyRun run = driver.run();
            results.add(run);
            PauseStats p = run.pause;
            progress(String.format(Locale.ROOT,
                    "%s %-9s %d/%d sessions in %.1f s, E2E mean %.2f s p99 %.2f s, turn mean %.0f ms; keep %d swap %d discard %d, "
                            + "device KV peak %.0f%% mean %.0f%%, load %s",
                    setup.section, run.label(), run.completed, run.sessions, run.seconds, run.meanE2eSeconds(),
                    pct(run.e2e, 0.99) / 1e9, mean(run.turnLatency) / 1e6, p.kept(), p.swapped(), p.discarded(),
                    100 * max(run.kv.device), 100 * mean(run.kv.device), loadAverage()));
            if (!run.errorSamples.isEmpty()) {
                System.out.println("     errors, e.g.: " + String.join("; ", run.errorSamples));
            }
            addFigures(setup, run);
        }
        runs.put(setup.section, results);
    }

    /** Drives one policy's run: arrivals, turns, calls, measurements. */
    private final class Driver {

        private final Setup setup;
        private final LampsWorkload workload;
        private final PausePolicy policy;
        /** With {@code --true-size-order}: each turn's true remaining session memory × time, by request id. */
        private final Map<String, Double> trueAreas;
        private final CountDownLatch done;
        private final AtomicInteger completed = new AtomicInteger();
        private final AtomicInteger errors = new AtomicInteger();
        private final ConcurrentLinkedQueue<String> errorSamples = new ConcurrentLinkedQueue<>();
        private final AtomicLong outputTokens = new AtomicLong();
        private final AtomicLong resumedCached = new AtomicLong();
        private final AtomicLong resumedPrompt = new AtomicLong();
        private final ConcurrentLinkedQueue<long[]> turnTimes = new ConcurrentLinkedQueue<>();
        private final ConcurrentLinkedQueue<Long> e2e = new ConcurrentLinkedQueue<>();
        private final List<SessionState> states = new ArrayList<>();
        private volatile long lastProgressNanos;
        /** Per tool: keep, swap, discard decisions, found from the pause counters at each TOOL_CALLS finish (engine thread). */
        private final Map<String, long[]> byTool = new LinkedHashMap<>();
        private long seenKept;
        private long seenSwapped;
        private long seenDiscarded;
        private Engine engine;
        private String stall;
        private Timeline timeline;
        private long startNanos;

        Driver(Setup setup, LampsWorkload workload, PausePolicy policy, boolean trueSizes) {
            this.setup = setup;
            this.workload = workload;
            this.policy = policy;
            this.trueAreas = trueSizes ? new ConcurrentHashMap<>() : null;
            this.done = new CountDownLatch(workload.sessions.size());
            for (LampsWorkload.Tool tool : LampsWorkload.Tool.values()) {
                byTool.put(tool.label, new long[3]);
            }
        }

        PolicyRun run() throws InterruptedException {
            System.gc();
            VirtualClock virtual = setup.virtualTime ? new VirtualClock() : null;
            engine = engine(setup, policy, trueAreas == null ? null : s -> trueAreas.getOrDefault(s.id(), 0.0), virtual);
            timeline = virtual != null ? new VirtualTimeline(virtual) : new WallTimeline();
            List<double[]> samples = new ArrayList<>();
            try {
                if (virtual != null) {
                    engine.step(); // the start-up profile, before the first arrival
                } else {
                    // Let the start-up profile finish before the first arrival (it runs on the engine thread).
                    Thread.sleep(50);
                }
                startNanos = timeline.now();
                sample(samples);
                for (LampsWorkload.Session session : workload.sessions) {
                    SessionState state = new SessionState(session);
                    states.add(state);
                    timeline.schedule(() -> state.submit(session.prompt()), setup.scaled(session.arrivalSeconds()).toNanos());
                }
                lastProgressNanos = timeline.now();
                stall = timeline.runUntilDone();
            } finally {
                timeline.close();
                engine.close();
            }
            double seconds = (timeline.now() - startNanos) / 1e9;
            if (policy.ordersByMemoryTime() && trueAreas == null) {
                System.out.println("     " + learned(engine.decisions()));
            }
            KvSeries kv;
            synchronized (samples) {
                kv = new KvSeries(samples.stream().mapToDouble(s -> s[0]).toArray(), samples.stream().mapToDouble(s -> s[1]).toArray(),
                        samples.stream().mapToDouble(s -> s[2]).toArray(), samples.stream().mapToInt(s -> (int) s[3]).toArray(),
                        samples.stream().mapToInt(s -> (int) s[4]).toArray(), samples.stream().mapToDouble(s -> s[5]).toArray());
            }
            long end = timeline.now();
            double lowerBound = states.stream().mapToLong(state -> state.e2eOrLowerBound(end)).average().orElse(0) / 1e9;
            long[] turn = turnTimes.stream().mapToLong(t -> t[1]).sorted().toArray();
            long[] ttft = turnTimes.stream().filter(t -> t[0] > 0 && t[2] >= 0).mapToLong(t -> t[2]).sorted().toArray();
            return new PolicyRun(policy, trueAreas != null, workload.sessions.size(), completed.get(), errors.get() + (int) done.getCount(),
                    java.util.stream.Stream.concat(java.util.stream.Stream.ofNullable(stall),
                            errorSamples.stream().limit(3)).toList(), seconds, e2e.stream().mapToLong(Long::longValue).sorted().toArray(),
                    turn, ttft, outputTokens.get(), resumedCached.get(), resumedPrompt.get(), kv, engine.pauseStats(),
                    engine.stats(), byTool, meanByTool(), lowerBound, stall);
        }

        /** Device and host KV usage and waiting requests now, and again every sample interval while sessions run. */
        private void sample(List<double[]> samples) {
            EngineStats stats = engine.stats();
            synchronized (samples) {
                samples.add(new double[] {(timeline.now() - startNanos) / 1e9, stats.kvUsage(),
                    stats.hostTotalBlocks() == 0 ? 0 : (double) stats.hostUsedBlocks() / stats.hostTotalBlocks(), stats.waiting(),
                    stats.running(), (double) engine.pauseStats().pinnedDeviceBlocks() / stats.totalBlocks()});
            }
            if (done.getCount() > 0) {
                timeline.schedule(() -> sample(samples), setup.scaled(SAMPLE_WORKLOAD_SECONDS).toNanos());
            }
        }

        /** Why the run stopped before every session finished (stalled, or past its deadline), else null. */
        private String stalled(long now) {
            // Stalled: no turn finished for longer than a pause timeout plus the longest call (nothing left to wait for).
            double stallSeconds = Math.max(3, (setup.scaled(300).toNanos() + setup.scaled(60).toNanos()) / 1e9);
            double lastArrival = workload.lastArrivalSeconds() / setup.compression;
            double deadline = lastArrival + (setup.virtualTime ? 3600 : options.quick ? 60 : 180);
            double idle = (now - lastProgressNanos) / 1e9;
            boolean arrived = (now - startNanos) / 1e9 > lastArrival;
            if ((arrived && idle > stallSeconds) || (now - startNanos) / 1e9 > deadline) {
                EngineStats stats = engine.stats();
                return String.format(Locale.ROOT, "%s after %.0f s: %d sessions unfinished, no turn finished for %.0f s; "
                                + "engine: %d running, %d waiting, %d paused, device blocks %d/%d in use, host %d/%d",
                        idle > stallSeconds ? "stalled" : "deadline", (now - startNanos) / 1e9, done.getCount(), idle,
                        stats.running(), stats.waiting(), stats.paused(), stats.usedBlocks(), stats.totalBlocks(),
                        stats.hostUsedBlocks(), stats.hostTotalBlocks());
            }
            return null;
        }

        /** Where the run's time comes from and how its arrivals, calls and samples are scheduled. */
        private interface Timeline extends AutoCloseable {

            long now();

            void schedule(Runnable task, long delayNanos);

            /** Runs until every session finished; returns why it stopped early, or null. */
            String runUntilDone() throws InterruptedException;

            @Override
            void close() throws InterruptedException;
        }

        /** Wall time: a compressed clock; the engine serves on its own thread, events fire from a scheduler pool. */
        private final class WallTimeline implements Timeline {

            private final ScheduledExecutorService executor =
                    Executors.newScheduledThreadPool(2, Thread.ofPlatform().name("lamps-driver-", 0).daemon().factory());

            @Override
            public long now() {
                return System.nanoTime();
            }

            @Override
            public void schedule(Runnable task, long delayNanos) {
                try {
                    executor.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
                } catch (RuntimeException e) {
                    // The run is over (deadline): the executor is shut down.
                }
            }

            @Override
            public String runUntilDone() throws InterruptedException {
                while (!done.await(250, TimeUnit.MILLISECONDS)) {
                    String why = stalled(now());
                    if (why != null) {
                        return why;
                    }
                }
                return null;
            }

            @Override
            public void close() throws InterruptedException {
                executor.shutdownNow();
                executor.awaitTermination(5, TimeUnit.SECONDS);
            }
        }

        /**
         * Virtual time, a discrete-event run: this thread fires the events that are due, steps the engine (the sim
         * backend moves the clock on by each iteration's modelled cost) and, when the engine has nothing to run, jumps
         * to the next event. The result does not depend on how busy the machine is.
         */
        private final class VirtualTimeline implements Timeline {

            /** While requests wait on pinned KV, time moves in steps this long (the engine thread polls as often). */
            private static final long BLOCKED_STEP_NANOS = 1_000_000;

            private record Event(long at, long order, Runnable task) {
            }

            private final VirtualClock clock;
            private final PriorityQueue<Event> events = new PriorityQueue<>(
                    Comparator.comparingLong(Event::at).thenComparingLong(Event::order));
            private long scheduled;

            VirtualTimeline(VirtualClock clock) {
                this.clock = clock;
            }

            @Override
            public long now() {
                return clock.nanoTime();
            }

            @Override
            public void schedule(Runnable task, long delayNanos) {
                events.add(new Event(clock.nanoTime() + delayNanos, scheduled++, task));
            }

            @Override
            public String runUntilDone() {
                while (done.getCount() > 0) {
                    while (!events.isEmpty() && events.peek().at() <= clock.nanoTime()) {
                        events.poll().task().run();
                    }
                    if (engine.step()) {
                        continue;
                    }
                    EngineStats stats = engine.stats();
                    boolean idle = stats.running() == 0 && stats.waiting() == 0;
                    long next = events.isEmpty() ? Long.MAX_VALUE : events.peek().at();
                    if (idle && next == Long.MAX_VALUE) {
                        return stalledOr("nothing left to run");
                    }
                    clock.advanceTo(idle ? next : Math.min(next, clock.nanoTime() + BLOCKED_STEP_NANOS));
                    String why = stalled(clock.nanoTime());
                    if (why != null) {
                        return why;
                    }
                }
                return null;
            }

            private String stalledOr(String fallback) {
                String why = stalled(clock.nanoTime());
                return why != null ? why : fallback + ": " + done.getCount() + " sessions unfinished";
            }

            @Override
            public void close() {
                events.clear();
            }
        }

        /**
         * What the pod learned of each tool's sessions, next to the workload's truth: turns following a first turn
         * calling it, tokens of a turn after its call, tokens its resume adds; and the predicted memory x time of a
         * first turn of the tool's mean sizes against the true one (both relative to the calculator's).
         */
        private String learned(PauseDecisions decisions) {
            SessionLengthPredictor sessions = decisions.sessions();
            StringJoiner text = new StringJoiner("; ", "learned (predicted|true): ", "");
            double predictedBase = 0;
            double trueBase = 0;
            for (LampsWorkload.Tool tool : LampsWorkload.Tool.values()) {
                List<LampsWorkload.Session> of = workload.sessions.stream().filter(x -> x.tool() == tool).toList();
                if (of.isEmpty()) {
                    continue;
                }
                double prompt = of.stream().mapToInt(x -> x.prompt().length).average().orElse(0);
                double first = of.stream().mapToInt(x -> x.turns().getFirst().maxTokens()).average().orElse(0);
                double following = of.stream().mapToInt(LampsWorkload.Session::calls).average().orElse(0);
                double after = of.stream().flatMap(x -> x.turns().stream().skip(1)).mapToInt(LampsWorkload.Turn::maxTokens).average().orElse(0);
                double added = of.stream().flatMap(x -> x.turns().stream()).filter(LampsWorkload.Turn::hasCall)
                        .mapToInt(t -> t.returned().length).average().orElse(0);
                double predicted = decisions.area(Math.round(prompt), Math.round(first), tool.label, 0);
                double truth = of.stream().mapToDouble(x -> x.memoryTimeFrom(0, x.prompt().length)).average().orElse(0);
                if (predictedBase == 0) {
                    predictedBase = predicted;
                    trueBase = truth;
                }
                text.add(String.format(Locale.ROOT, "%s turns %.1f|%.1f gen %.0f|%.0f add %.0f|%.0f area %.2f|%.2f",
                        tool.label, sessions.followingTurns(tool.label, 0), following,
                        sessions.meanGeneratedTokens(tool.label), after, sessions.meanAddedTokens(tool.label), added,
                        predicted / predictedBase, truth / trueBase));
            }
            return text.toString();
        }

        /** Completed sessions' mean E2E per tool, in seconds. */
        private Map<String, Double> meanByTool() {
            Map<String, Double> means = new LinkedHashMap<>();
            for (LampsWorkload.Tool tool : LampsWorkload.Tool.values()) {
                states.stream().filter(state -> state.session.tool() == tool && state.e2eNanos >= 0)
                        .mapToLong(state -> state.e2eNanos).average().ifPresent(nanos -> means.put(tool.label, nanos / 1e9));
            }
            return means;
        }

        private void error(String message) {
            errors.incrementAndGet();
            if (errorSamples.size() < 10) {
                errorSamples.add(message);
            }
        }

        /** One session's progress through its turns. */
        private final class SessionState {

            private final LampsWorkload.Session session;
            private int turn;
            private volatile long firstSubmit = -1;
            private volatile long e2eNanos = -1;

            SessionState(LampsWorkload.Session session) {
                this.session = session;
            }

            void submit(int[] prompt) {
                LampsWorkload.Turn spec = session.turns().get(turn);
                TurnSink sink = new TurnSink(this, turn, prompt, spec, timeline.now());
                if (turn == 0) {
                    firstSubmit = sink.submitted;
                }
                if (trueAreas != null) {
                    trueAreas.put(session.id() + "-t" + turn, session.memoryTimeFrom(turn, prompt.length));
                }
                try {
                    engine.submit(new GenerationRequest(session.id() + "-t" + turn, prompt, spec.maxTokens(),
                            SamplingParams.GREEDY, sink, "", session.id(), spec.hasCall() ? spec.tool().label : null));
                } catch (RuntimeException e) {
                    error(session.id() + " turn " + turn + ": " + e.getMessage());
                    done.countDown();
                }
            }

            /** The session's E2E, or while unfinished the time since its first submit (since its arrival if none). */
            long e2eOrLowerBound(long now) {
                if (e2eNanos >= 0) {
                    return e2eNanos;
                }
                long since = firstSubmit >= 0 ? firstSubmit : startNanos + setup.scaled(session.arrivalSeconds()).toNanos();
                return Math.max(0, now - since);
            }

            /** On the engine thread: the turn ended. */
            void finished(TurnSink sink, FinishReason reason, int cachedPromptTokens) {
                long now = timeline.now();
                lastProgressNanos = now;
                turnTimes.add(new long[] {sink.turn, now - sink.submitted, sink.firstToken < 0 ? -1 : sink.firstToken - sink.submitted});
                outputTokens.addAndGet(sink.count);
                if (sink.turn > 0) {
                    resumedCached.addAndGet(cachedPromptTokens);
                    resumedPrompt.addAndGet(sink.prompt.length);
                }
                boolean last = sink.turn == session.turns().size() - 1;
                if (reason == FinishReason.TOOL_CALLS && !last) {
                    countDecision(sink.spec.tool().label);
                    int[] next = Arrays.copyOf(sink.prompt, sink.prompt.length + sink.count + sink.spec.returned().length);
                    System.arraycopy(sink.generated, 0, next, sink.prompt.length, sink.count);
                    System.arraycopy(sink.spec.returned(), 0, next, sink.prompt.length + sink.count, sink.spec.returned().length);
                    turn++;
                    timeline.schedule(() -> submit(next), setup.scaled(sink.spec.callSeconds()).toNanos());
                } else if (last && (reason == FinishReason.LENGTH || reason == FinishReason.STOP)) {
                    e2e.add(now - firstSubmit);
                    e2eNanos = now - firstSubmit;
                    completed.incrementAndGet();
                    done.countDown();
                } else {
                    error(session.id() + " turn " + sink.turn + " finished " + reason);
                    done.countDown();
                }
            }
        }

        /** The decision this pause made: the one pause counter that moved since the last TOOL_CALLS finish. */
        private void countDecision(String tool) {
            PauseStats p = engine.pauseStats();
            long[] counts = byTool.get(tool);
            counts[0] += p.kept() - seenKept;
            counts[1] += p.swapped() - seenSwapped;
            counts[2] += p.discarded() - seenDiscarded;
            seenKept = p.kept();
            seenSwapped = p.swapped();
            seenDiscarded = p.discarded();
        }

        /** One turn's output, on the engine thread. */
        private final class TurnSink implements TokenSink {

            final SessionState state;
            final int turn;
            final int[] prompt;
            final LampsWorkload.Turn spec;
            final long submitted;
            final int[] generated;
            int count;
            long firstToken = -1;

            TurnSink(SessionState state, int turn, int[] prompt, LampsWorkload.Turn spec, long submitted) {
                this.state = state;
                this.turn = turn;
                this.prompt = prompt;
                this.spec = spec;
                this.submitted = submitted;
                this.generated = new int[spec.maxTokens()];
            }

            @Override
            public void onToken(int tokenId) {
                if (firstToken < 0) {
                    firstToken = timeline.now();
                }
                if (count < generated.length) {
                    generated[count++] = tokenId;
                }
            }

            @Override
            public void onFinish(FinishReason reason, int promptTokens, int completionTokens, int cachedPromptTokens) {
                state.finished(this, reason, cachedPromptTokens);
            }
        }
    }

    // ---------------------------------------------------------------- figures

    private void addFigures(Setup setup, PolicyRun run) {
        String s = setup.section;
        String p = run.label();
        PauseStats pause = run.pause;
        add(s, p, "sessions completed", run.completed, "sessions", null, 0, null, null,
                run.errors == 0 ? "of " + run.sessions : run.errors + " errors or unfinished");
        add(s, p, "errors", run.errors, "", null, 0, null, null, String.join("; ", run.errorSamples));
        add(s, p, "session E2E mean", run.meanE2eSeconds(), "s", null, 0, null, null, "first submit to last finish, calls included");
        add(s, p, "session E2E p99", pct(run.e2e, 0.99) / 1e9, "s", null, 0, null, null, "");
        add(s, p, "turn latency mean", mean(run.turnLatency) / 1e6, "ms", null, 0, null, null, "submit to finish, calls excluded");
        add(s, p, "turn latency p99", pct(run.turnLatency, 0.99) / 1e6, "ms", null, 0, null, null, "");
        add(s, p, "TTFT after resume mean", mean(run.resumeTtft) / 1e6, "ms", null, 0, null, null, "turns >= 2");
        add(s, p, "TTFT after resume p99", pct(run.resumeTtft, 0.99) / 1e6, "ms", null, 0, null, null, "");
        add(s, p, "output tokens/s", run.outputTokens / run.seconds, "tok/s", null, 0, null, null, "over the whole run");
        add(s, p, "sessions/s", run.completed / run.seconds, "sessions/s", null, 0, null, null, "");
        add(s, p, "run time", run.seconds, "s", null, 0, null, null, setup.virtualTime ? "first arrival to last finish (virtual time)" : "first arrival to last finish (wall)");
        add(s, p, "device KV peak", 100 * max(run.kv.device), "%", null, 0, null, null, "referenced blocks, sampled every " + format(SAMPLE_WORKLOAD_SECONDS) + " workload s");
        add(s, p, "device KV mean", 100 * mean(run.kv.device), "%", null, 0, null, null, "");
        add(s, p, "host KV peak", 100 * max(run.kv.host), "%", null, 0, null, null, "");
        add(s, p, "host KV mean", 100 * mean(run.kv.host), "%", null, 0, null, null, "");
        add(s, p, "waiting requests mean", mean(run.kv.waiting), "", null, 0, null, null, "sampled");
        add(s, p, "running requests mean", mean(run.kv.running), "", null, 0, null, null,
                "sampled; in a memory-bound pool, decode throughput follows it");
        add(s, p, "device KV pinned mean", 100 * mean(run.kv.pinned), "%", null, 0, null, null,
                "blocks kept for paused sessions and resuming turns, sampled");
        add(s, p, "decisions keep", pause.kept(), "", null, 0, null, null, byToolNote(run, 0));
        add(s, p, "decisions swap", pause.swapped(), "", null, 0, null, null, byToolNote(run, 1));
        add(s, p, "decisions discard", pause.discarded(), "", null, 0, null, null, byToolNote(run, 2));
        add(s, p, "host-full fallbacks", pause.hostFullFallbacks(), "", null, 0, null, null, "swaps that became discards");
        add(s, p, "blocks swapped out/in", pause.blocksSwappedOut() + pause.blocksSwappedIn(), "blocks", null, 0, null, null,
                pause.blocksSwappedOut() + " out, " + pause.blocksSwappedIn() + " in");
        add(s, p, "recomputed tokens", pause.recomputedTokens(), "tokens", null, 0, null, null,
                "context of resumed sessions not found in a cache");
        add(s, p, "resumed prompt cached", run.resumedPromptTokens == 0 ? 0 : 100.0 * run.resumedCachedTokens / run.resumedPromptTokens, "%", null, 0,
                null, null, "prompt tokens of turns >= 2 served from the device cache or the host tier");
        add(s, p, "preemptions", run.stats.preemptions(), "", null, 0, null, null, "running sequences evicted for blocks");
        add(s, p, "pauses expired", pause.expired(), "", null, 0, null, null, "pause timeout " + setup.scaled(300).toMillis() + " ms");
        add(s, p, "pauses reclaimed", pause.reclaimed(), "", null, 0, null, null,
                "pinned KV given up because waiting requests needed the blocks");
        add(s, p, "learned forward per token", pause.forwardSecondsPerToken() * 1e6, "us", null, 0, null, null,
                "the engine's fit at the end; sim charges " + format(0.33e3 / setup.compression) + " us");
        add(s, p, "learned forward per iteration", pause.forwardSecondsFixed() * 1e6, "us", null, 0, null, null,
                "sim charges " + format(24e3 / setup.compression) + " us per iteration with decodes");
        add(s, p, "learned swap per token", pause.swapSecondsPerToken() * 1e6, "us", null, 0, null, null,
                "sim charges " + format(0.04e3 / setup.compression) + " us");
        add(s, p, "call prediction error mean", pause.resumed() == 0 ? 0 : pause.predictionAbsErrorSecondsSum() / pause.resumed()
                * setup.compression, "s", null, 0, null, null, "workload seconds, |actual - predicted| per resume");
    }

    private static String byToolNote(PolicyRun run, int index) {
        StringBuilder text = new StringBuilder();
        run.decisionsByTool.forEach((tool, counts) -> {
            if (counts[index] > 0) {
                text.append(text.isEmpty() ? "" : ", ").append(tool).append(' ').append(counts[index]);
            }
        });
        return text.toString();
    }

    /** LAMPS' reported end-to-end gains, computed from this run's sim section. */
    private void goals() {
        List<PolicyRun> sim = runs.get("sim");
        if (sim == null) {
            return;
        }
        PolicyRun lamps = find(sim, PausePolicy.LAMPS);
        if (lamps == null) {
            return;
        }
        PolicyRun infercept = find(sim, PausePolicy.INFERCEPT);
        goal(lamps, infercept, 27);
        goal(lamps, find(sim, PausePolicy.KEEP), 40);
        // How much lower any waiting-queue order could make it: the same engine ordered by the sessions' true sizes.
        if (infercept != null) {
            for (PolicyRun run : sim) {
                if (run.policy == PausePolicy.LAMPS && infercept.errors == 0) {
                    add("sim", run.label(), "mean E2E lower than infercept", 100 * (1 - run.meanE2eSeconds() / infercept.meanE2eSeconds()),
                            "%", null, 0, "infercept mean E2E", infercept.meanE2eSeconds(),
                            run.trueSizes ? "ordered by each session's true remaining memory x time (known only to the benchmark)" : "");
                }
            }
        }
    }

    private void goal(PolicyRun lamps, PolicyRun baseline, double percent) {
        if (baseline == null) {
            return;
        }
        // A baseline that left sessions unfinished is compared by a lower bound of its mean: unfinished sessions count
        // the time they had been running when the run stopped. LAMPS itself must finish every session to meet a goal.
        double baselineMean = baseline.errors == 0 ? baseline.meanE2eSeconds() : baseline.meanE2eLowerBoundSeconds;
        double reduction = 100 * (1 - lamps.meanE2eSeconds() / baselineMean);
        String name = baseline.policy.configName();
        String note = String.format(Locale.ROOT, "lamps %.2f s vs %s %.2f s", lamps.meanE2eSeconds(), name, baselineMean);
        if (baseline.errors > 0) {
            note += String.format(Locale.ROOT, " (a lower bound: %d of %d %s sessions failed or unfinished, counted until the run "
                    + "stopped; its completed sessions alone average %.2f s)", baseline.errors, baseline.sessions, name,
                    baseline.meanE2eSeconds());
        }
        if (lamps.errors > 0) {
            note += "; lamps left " + lamps.errors + " sessions failed or unfinished, so the goal cannot be met";
        }
        String goalText = ">= " + format(percent) + " % lower";
        figures.add(new Figure("goals", "lamps", "mean E2E vs " + name, reduction, "% lower", goalText,
                lamps.errors == 0 && reduction >= percent, name + " mean E2E" + (baseline.errors > 0 ? " (lower bound)" : ""),
                baselineMean, note));
    }

    private static PolicyRun find(List<PolicyRun> runs, PausePolicy policy) {
        return runs.stream().filter(r -> r.policy == policy && !r.trueSizes).findFirst().orElse(null);
    }

    private void add(String section, String policy, String name, double value, String unit, String op, double goal,
                     String baselineName, Double baselineValue, String note) {
        String goalText = op == null ? "" : op + " " + format(goal) + " " + unit;
        Boolean met = op == null ? null : op.equals("<=") ? value <= goal : value >= goal;
        figures.add(new Figure(section, policy, name, value, unit, goalText, met, baselineName, baselineValue, note));
    }

    // ---------------------------------------------------------------- output

    private void printTables() {
        System.out.println();
        System.out.println("load average at the end: " + loadAverage());
        for (Map.Entry<String, List<PolicyRun>> section : runs.entrySet()) {
            List<String> policies = section.getValue().stream().map(PolicyRun::label).toList();
            List<String> names = figures.stream().filter(f -> f.section.equals(section.getKey())).map(Figure::name).distinct()
                    .filter(n -> !n.equals("errors") || section.getValue().stream().anyMatch(r -> r.errors > 0)).toList();
            System.out.println();
            boolean virtual = section.getKey().equals("sim") && !options.wallClock;
            System.out.printf(Locale.ROOT, "[%s] (%s)%n", section.getKey(), virtual ? "virtual time: workload seconds, no compression"
                    : String.format(Locale.ROOT, "measured wall time; the workload's time is %.0fx", compressionOf(section.getKey())));
            StringBuilder header = new StringBuilder(String.format(Locale.ROOT, "%-30s %-10s", "figure", "unit"));
            policies.forEach(p -> header.append(String.format(Locale.ROOT, " %12s", p)));
            System.out.println(header);
            for (String name : names) {
                StringBuilder line = new StringBuilder();
                String unit = "";
                for (String policy : policies) {
                    Figure f = figures.stream().filter(x -> x.section.equals(section.getKey()) && x.policy.equals(policy)
                            && x.name.equals(name)).findFirst().orElse(null);
                    if (f != null) {
                        unit = f.unit;
                    }
                    String cell = f == null ? "" : name.equals("sessions completed") ? (long) f.value + "/" + sessionsOf(section.getValue(), policy)
                            : format(f.value);
                    line.append(String.format(Locale.ROOT, " %12s", cell));
                }
                System.out.printf(Locale.ROOT, "%-30s %-10s%s%n", name, unit, line);
            }
            for (PolicyRun run : section.getValue()) {
                if (run.stall != null) {
                    System.out.printf(Locale.ROOT, "  %s %s%n", run.label(), run.stall);
                }
            }
            for (PolicyRun run : section.getValue()) {
                if (run.policy == PausePolicy.INFERCEPT || run.policy == PausePolicy.LAMPS) {
                    System.out.printf(Locale.ROOT, "  %s decisions by tool (keep/swap/discard): %s%n", run.label(),
                            byToolSummary(run));
                }
            }
            for (PolicyRun run : section.getValue()) {
                StringBuilder text = new StringBuilder();
                run.meanE2eByTool.forEach((tool, seconds) -> text.append(text.isEmpty() ? "" : ", ")
                        .append(tool).append(' ').append(format(seconds)));
                System.out.printf(Locale.ROOT, "  %-9s session E2E mean by tool, s: %s%n", run.label(), text);
            }
        }
        List<Figure> goals = figures.stream().filter(f -> f.section.equals("goals")).toList();
        if (!goals.isEmpty()) {
            System.out.println();
            System.out.printf(Locale.ROOT, "%-28s %14s %-18s %-8s %s%n", "goal (sim)", "value", "goal", "status", "baseline (same run)");
            for (Figure f : goals) {
                System.out.printf(Locale.ROOT, "%-28s %14s %-18s %-8s %s%n", f.name, format(f.value) + " " + f.unit, f.goal,
                        f.met ? "met" : "NOT MET", f.baselineName + ": " + format(f.baselineValue) + " s; " + f.note);
            }
        }
    }

    private double compressionOf(String section) {
        return section.equals("sim") ? options.compression : CPU_COMPRESSION;
    }

    private static int sessionsOf(List<PolicyRun> runs, String policy) {
        return runs.stream().filter(r -> r.label().equals(policy)).mapToInt(PolicyRun::sessions).findFirst().orElse(0);
    }

    private static String byToolSummary(PolicyRun run) {
        StringBuilder text = new StringBuilder();
        run.decisionsByTool.forEach((tool, c) -> text.append(text.isEmpty() ? "" : ", ")
                .append(tool).append(' ').append(c[0]).append('/').append(c[1]).append('/').append(c[2]));
        return text.toString();
    }

    private void writeCsv() throws IOException {
        Path csv = options.csv.toAbsolutePath();
        Files.createDirectories(csv.getParent());
        StringBuilder text = new StringBuilder("section,policy,figure,value,unit,goal,status,baseline,baseline_value,note\n");
        for (Figure f : figures) {
            text.append(String.join(",", quote(f.section), quote(f.policy), quote(f.name), String.format(Locale.ROOT, "%.4f", f.value),
                    quote(f.unit), quote(f.goal), f.met == null ? "" : f.met ? "met" : "not met",
                    quote(f.baselineName == null ? "" : f.baselineName),
                    f.baselineValue == null ? "" : String.format(Locale.ROOT, "%.4f", f.baselineValue),
                    quote(f.note == null ? "" : f.note))).append('\n');
        }
        Files.writeString(csv, text);
        System.out.println("wrote " + csv);
    }





    // ---------------------------------------------------------------- misc


    static double mean(long[] values) {
        return values.length == 0 ? 0 : Arrays.stream(values).average().orElse(0);
    }

    static double mean(double[] values) {
        return values.length == 0 ? 0 : Arrays.stream(values).average().orElse(0);
    }

    static double mean(int[] values) {
        return values.length == 0 ? 0 : Arrays.stream(values).average().orElse(0);
    }

    static double max(double[] values) {
        return Arrays.stream(values).max().orElse(0);
    }




}
