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
import java.util.stream.Stream;
import java.util.stream.Collectors;
import java.util.function.Function;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.kvmesh.e2e.local.LocalMesh;
import io.kvmesh.e2e.local.ServiceProcess;

/**
 * {@code ./kvmesh bench mesh}: the whole local mesh (real broker, cache index, N {@code sim} runtime pods) and one
 * router per routing policy, in turn, fed the same seeded requests: a shared-prefix workload at working sets of a few
 * fractions of the pods' total KV capacity over a Poisson rate ladder, and multi-turn chat. Each policy sends with its own
 * {@code cache_salt}, so no policy reuses blocks another computed. Prints requests/s, output tokens/s, TTFT and E2E
 * percentiles, the engine hit rate (cached / prompt tokens, from the pods' usage), the router's predicted hit (its
 * {@code x-kvmesh-predicted-cached-tokens}) and the oracle hit ratio (each group's reusable prefix computed once),
 * then the goals side by side; writes a CSV and a PNG.
 */
public final class MeshBenchmark {

    static final String SIM_MODEL = "kvmesh-sim";
    static final List<String> POLICIES = List.of("prefix-aware", "approximate-prefix", "least-load", "round-robin", "random");
    private static final int CHAT_MAX_TOKENS = 32;
    private static final List<String> AGENT_TOOLS = List.of("search", "calculator", "code_interpreter");

    /** What to run, from the command line. */
    public record Options(int pods, int routers, int kvBlocks, int systemWords, int questionWords, int outputTokens,
                          double[] fractions, double[] rates, double seconds, double chatRate, double chatSeconds, int rounds, List<String> policies, boolean chat,
                          Map<String, String> sim, Map<String, String> routerSettings, Path csv, Path png, Path root) {

        static Options parse(String[] args) {
            boolean quick = has(args, "--quick");
            Path root = Path.of(System.getProperty("io.kvmesh.root", ".")).toAbsolutePath().normalize();
            List<String> policies = List.of(stringArg(args, "--policies", String.join(",", POLICIES)).split(","));
            for (String policy : policies) {
                if (!POLICIES.contains(policy)) {
                    throw new IllegalArgumentException("unknown policy " + policy + "; known: " + POLICIES);
                }
            }
            Map<String, String> sim = new LinkedHashMap<>();
            // InferCept's 6B-class profile (0.328 ms a prompt token, 24.1 ms a step) scaled down: prefill dominates a cold
            // request, so reuse shows in throughput, and the pods' capacity stays within what two cores can drive.
            sim.put("kvmesh.sim.prefill-micros-per-token", stringArg(args, "--prefill-micros", "200"));
            sim.put("kvmesh.sim.decode-step-micros", stringArg(args, "--decode-micros", "5000"));
            sim.put("kvmesh.sim.decode-micros-per-sequence", "100");
            if (has(args, "--fcfs-pods")) {
                // Pods that admit strictly in arrival order, as vLLM's default scheduler does (the pods llm-d's published
                // routing ratios were measured on): no cached-prefix-first scan, no keeping queued or recently reused
                // prefixes, no holds.
                sim.put("kvmesh.scheduler.cached-prefix-scan", "0");
                sim.put("kvmesh.scheduler.keep-queued-prefixes", "false");
                sim.put("kvmesh.scheduler.protect-reused-for", "0s");
                sim.put("kvmesh.scheduler.prefix-hold-blocks", "0");
            }
            sim.putAll(settings("--pod-settings", stringArg(args, "--pod-settings", "")));
            int outputTokens = intArg(args, "--output-tokens", 16);
            if (outputTokens < 1) {
                throw new IllegalArgumentException("--output-tokens must be at least 1, got " + outputTokens);
            }
            return new Options(
                    intArg(args, "--pods", quick ? 2 : 4),
                    intArg(args, "--routers", 1),
                    intArg(args, "--kv-blocks", quick ? 512 : 1024),
                    // ~6 prompt tokens a word on sim pods: ~1,000-token system prompts (~500 quick), so a working set of 40% of the
                    // pods' KV is dozens of groups, as in SGLang's generated-shared-prefix.
                    intArg(args, "--system-words", quick ? 80 : 160),
                    // ~150-token questions, 1/7 of the system prompt; SGLang's own proportion is 1/16 (128 of 2,048 tokens):
                    // --question-words 10 (e2e/README.md has that run).
                    Math.max(0, intArg(args, "--question-words", 24)),
                    outputTokens,
                    parseList("--fractions", stringArg(args, "--fractions", quick ? "0.75" : "0.4,0.75")),
                    parseList("--rates", stringArg(args, "--rates", quick ? "3,12" : "8,16,32,64,96,128")),
                    doubleArg(args, "--seconds", quick ? 5 : 15),
                    doubleArg(args, "--chat-rate", quick ? 1 : 2),
                    doubleArg(args, "--chat-seconds", quick ? 4 : 20),
                    intArg(args, "--rounds", 4),
                    List.copyOf(policies), !has(args, "--no-chat"), Map.copyOf(sim), settings("--router-settings", stringArg(args, "--router-settings", "")),
                    Path.of(stringArg(args, "--csv", root.resolve("bench-results/mesh.csv").toString())),
                    Path.of(stringArg(args, "--png", root.resolve("bench-results/mesh.png").toString())),
                    root);
        }

        /** {@code key=value,key=value} for every router or pod, e.g. {@code kvmesh.groups.window=0s}. */
        private static Map<String, String> settings(String option, String text) {
            Map<String, String> settings = new LinkedHashMap<>();
            for (String pair : text.split(",")) {
                if (!pair.isBlank()) {
                    int eq = pair.indexOf('=');
                    if (eq <= 0) {
                        throw new IllegalArgumentException(option + " wants key=value pairs, got " + pair);
                    }
                    settings.put(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
                }
            }
            return Map.copyOf(settings);
        }

        private static double[] parseList(String option, String text) {
            try {
                return Arrays.stream(text.split(",")).map(String::trim).mapToDouble(Double::parseDouble).toArray();
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(option + " wants numbers separated by commas, got " + text);
            }
        }
    }

    /** One measured step: a workload at one offered rate under one policy. */
    public record Row(String workload, String policy, double offered, int sent, int completed, int errors, int notSent,
                      double requestsPerSecond, double outputTokensPerSecond, double ttftP50, double ttftP90, double ttftP99,
                      double e2eP50, double e2eP99, double hit, double predictedHit, double oracleRatio, String firstError) {
    }

    /** One goal of the issue next to its measurement. */
    public record Goal(String name, double measured, double goal, String how) {
        boolean met() {
            return measured >= goal;
        }
    }

    /** Everything a run measured; {@code capacityBounds} per shared-prefix workload ({@link #capacityBound}). */
    public record Result(List<Row> rows, List<Goal> goals, Map<String, Double> capacityBounds) {
    }

    private final Options options;
    private final List<Row> rows = new ArrayList<>();
    private final List<Goal> goals = new ArrayList<>();
    /** Per workload name, per policy: the outcomes in the order sent (the oracle needs the whole ladder). */
    private final Map<String, Map<String, List<MeshLoad.Outcome>>> outcomes = new LinkedHashMap<>();
    /** Per policy: why the router chose as it did (its kvmesh_router_decisions_total), as shares. */
    private final Map<String, String> decisions = new LinkedHashMap<>();
    /** Per shared-prefix workload: the most requests/s any placement could complete on these pods ({@link #oracle}). */
    private final Map<String, Double> capacityBounds = new LinkedHashMap<>();

    private MeshBenchmark(Options options) {
        this.options = options;
    }

    public static void main(String[] args) throws Exception {
        if (has(args, "--help")) {
            System.out.println("""
                    usage: ./kvmesh bench mesh [--quick] [--pods N] [--routers N] [--kv-blocks N] [--policies a,b,...] [--fractions f,...]
                                               [--rates r,...] [--seconds S] [--no-chat] [--chat-rate R] [--chat-seconds S]
                                               [--rounds N] [--system-words N] [--question-words N] [--output-tokens N]
                                               [--prefill-micros U] [--decode-micros U] [--router-settings k=v,...]
                                               [--pod-settings k=v,...] [--fcfs-pods] [--csv FILE] [--png FILE]
                      --quick      2 pods, one working set (75%), two rates, 5 s steps (a smoke run)
                      --fcfs-pods  pods admit in arrival order (vLLM's default), not longest cached prefix first
                      --routers    router replicas per policy, requests spread over them in turn (default 1)
                      --policies   any of prefix-aware,approximate-prefix,least-load,round-robin,random (default: all)
                      --fractions  shared-prefix working sets as fractions of all pods' KV capacity (default 0.4,0.75)
                      --rates      the Poisson rate ladder in requests/s (default 8,16,32,64,96,128), --seconds per step (15)
                      --question-words  words a shared-prefix question adds to its system prompt (default 24, ~150 tokens against
                                   ~1,100; SGLang's proportion is --question-words 10); --output-tokens each answer's length (16)
                      --prefill-micros, --decode-micros  the sim pods' cost of a prompt token and of a decode step (200, 5000)""");
            return;
        }
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.WARNING);
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            // A mistyped option gets one line and the usage hint, not a stack trace.
            System.err.println("bench mesh: " + e.getMessage() + " (--help lists the options)");
            System.exit(2);
            return;
        }
        new MeshBenchmark(options).runAll();
    }

    /** Runs every policy over every workload, prints the table and goals, writes the CSV and PNG. */
    public static Result run(String[] args) throws Exception {
        return new MeshBenchmark(Options.parse(args)).runAll();
    }

    private Result runAll() throws Exception {
        int capacityTokens = options.pods * options.kvBlocks * 16;
        System.out.println("load average at start (other processes share these cores): " + loadAverage());
        System.out.printf(Locale.ROOT, "mesh benchmark: %d sim pods x %,d KV blocks (%,d tokens in all), %d router replica(s) per "
                        + "policy, policies %s, rates %s req/s x %.0f s, %s%n", options.pods, options.kvBlocks, capacityTokens, options.routers,
                options.policies, Arrays.toString(options.rates), options.seconds, options.sim);
        Path runs = options.root.resolve(".kvmesh/runs/bench-mesh-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        Map<String, String> pods = new LinkedHashMap<>(options.sim);
        pods.put("kvmesh.kv-blocks", Integer.toString(options.kvBlocks));
        try (LocalMesh mesh = LocalMesh.start(LocalMesh.Options.defaults(options.root).withPods(options.pods).withRouterPort(0)
                .withRunDirectory(runs).withSettings(pods), line -> progress("mesh: " + line));
             MeshLoad load = new MeshLoad()) {
            // Each policy gets a fresh router of its own; the mesh's own would only take CPU meanwhile.
            mesh.router().stop();
            int systemTokens = calibrate(load, mesh.runtimes().getFirst().url());
            List<MeshWorkloads.SharedPrefix> shared = new ArrayList<>();
            for (double fraction : options.fractions) {
                int groups = Math.max(2, (int) Math.round(fraction * capacityTokens / systemTokens));
                shared.add(MeshWorkloads.SharedPrefix.build(groups, options.systemWords, options.questionWords, 7));
                progress(String.format(Locale.ROOT, "shared prefix at %.0f%% of KV capacity: %d groups of a ~%d-token system prompt, "
                        + "%d-word questions, %d output tokens", fraction * 100, groups, systemTokens, options.questionWords, options.outputTokens));
            }
            for (String policy : options.policies) {
                progress("policy " + policy + ": starting its router" + (options.routers > 1 ? "s (" + options.routers + ")" : "")
                        + "; pods " + podsAtRest(mesh.runtimes().stream().map(ServiceProcess::url).toList()));
                List<ServiceProcess> routers = new ArrayList<>();
                try {
                    for (int i = 0; i < options.routers; i++) {
                        routers.add(mesh.startRouter("router-" + policy + (options.routers > 1 ? "-" + (i + 1) : ""), policy,
                                options.routerSettings));
                    }
                    List<String> urls = routers.stream().map(ServiceProcess::url).toList();
                    for (String url : urls) {
                        awaitRouting(load, url);
                    }
                    for (int f = 0; f < options.fractions.length; f++) {
                        String workload = sharedName(options.fractions[f]);
                        for (int r = 0; r < options.rates.length; r++) {
                            double rate = options.rates[r];
                            List<MeshLoad.Planned> plan = shared.get(f).plan(rate, options.seconds, 1000L * f + r);
                            progress(String.format(Locale.ROOT, "%s, %s, %.0f req/s: %d requests over %.0f s", policy, workload, rate,
                                    plan.size(), options.seconds));
                            MeshLoad.Step step = load.run(urls, SIM_MODEL, policy + "/" + workload, options.outputTokens, plan,
                                    Duration.ofSeconds(90));
                            record(workload, policy, rate, plan.size(), step);
                            progress(placement(step));
                        }
                    }
                    if (options.chat) {
                        chat(load, urls, policy, false);
                        chat(load, urls, policy, true);
                    }
                    String reasons = decisionReasons(urls);
                    decisions.put(policy, reasons);
                    progress(policy + ": decisions by reason: " + reasons);
                } finally {
                    routers.forEach(ServiceProcess::stop);
                }
            }
        }
        oracle();
        goals();
        printTable();
        writeCsv();
        try {
            MeshPlot.write(options.png, rows, options.fractions.length == 0 ? List.of() :
                    Arrays.stream(options.fractions).mapToObj(MeshBenchmark::sharedName).toList());
            System.out.println("wrote " + options.png.toAbsolutePath());
        } catch (Exception | Error e) {
            System.out.println("no plot: " + e);
        }
        return new Result(List.copyOf(rows), List.copyOf(goals), Map.copyOf(capacityBounds));
    }

    static String sharedName(double fraction) {
        return String.format(Locale.ROOT, "shared-prefix %.0f%%", fraction * 100);
    }

    /** Prompt tokens of one system prompt of {@code systemWords} words, from a pod's usage: sizes the groups. */
    private int calibrate(MeshLoad load, String podUrl) {
        String prompt = MeshWorkloads.SharedPrefix.build(1, options.systemWords, options.questionWords, 99).systemPrompts().getFirst();
        MeshLoad.Outcome outcome = load.send(podUrl, SIM_MODEL, "calibration", 1, -1, prompt);
        if (!outcome.ok()) {
            throw new IllegalStateException("the pod did not answer the calibration request: " + outcome.error());
        }
        return outcome.promptTokens();
    }

    /** A new router serves once its index has seen the pods' heartbeats. */
    private static void awaitRouting(MeshLoad load, String routerUrl) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            MeshLoad.Outcome outcome = load.send(routerUrl, SIM_MODEL, "ready", 1, -1, "ready?");
            if (outcome.ok()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("router does not route: " + outcome.error());
            }
            Thread.sleep(250);
        }
    }

    /** Gauges of a pod's state, each with the pattern of its sample line (labels optional). */
    private static final Map<String, Pattern> POD_GAUGES = Stream.of("vllm:num_requests_running", "vllm:num_requests_waiting",
                    "vllm:kv_cache_usage_perc", "kvmesh_lamps_paused_sessions", "kvmesh_lamps_pinned_blocks")
            .collect(Collectors.toMap(g -> g, g -> Pattern.compile("(?m)^" + Pattern.quote(g) + "(?:\\{[^}]*})? ([0-9.eE+-]+)$"),
                    (a, b) -> a, LinkedHashMap::new));

    /**
     * Each pod's requests, KV in use and paused sessions from its metrics, e.g. "vllm:num_requests_running 0/0/0/0,
     * ...": every policy must start on idle pods, not on what the previous one left running or pinned.
     */
    private static String podsAtRest(List<String> podUrls) {
        return summarizeMetrics(podUrls, texts -> {
            Map<String, List<String>> values = new LinkedHashMap<>();
            for (String text : texts) {
                POD_GAUGES.forEach((gauge, pattern) -> {
                    Matcher m = pattern.matcher(text);
                    values.computeIfAbsent(gauge, g -> new ArrayList<>()).add(m.find()
                            ? String.format(Locale.ROOT, "%.3g", Double.parseDouble(m.group(1))) : "?");
                });
            }
            return values.entrySet().stream().map(e -> e.getKey() + " " + String.join("/", e.getValue()))
                    .reduce((a, b) -> a + ", " + b).orElse("none");
        });
    }

    private static final Pattern DECISIONS =
            Pattern.compile("kvmesh_router_decisions_total\\{[^}]*reason=\"([^\"]+)\"[^}]*} ([0-9.eE+]+)");

    /** The routers' decisions by reason over their whole run, e.g. "prefix 81%, load-imbalance 12%, no-match 7%". */
    private static String decisionReasons(List<String> routerUrls) {
        return summarizeMetrics(routerUrls, texts -> {
            Map<String, Double> counts = new LinkedHashMap<>();
            for (String text : texts) {
                Matcher m = DECISIONS.matcher(text);
                while (m.find()) {
                    counts.merge(m.group(1), Double.parseDouble(m.group(2)), Double::sum);
                }
            }
            double total = counts.values().stream().mapToDouble(Double::doubleValue).sum();
            return counts.entrySet().stream().filter(e -> e.getValue() > 0)
                    .sorted(Map.Entry.<String, Double>comparingByValue().reversed())
                    .map(e -> String.format(Locale.ROOT, "%s %.0f%%", e.getKey(), 100 * e.getValue() / total))
                    .reduce((a, b) -> a + ", " + b).orElse("none");
        });
    }

    /** {@code summary} of the services' {@code /metrics} texts, in {@code urls} order; "unavailable" when one cannot be read. */
    private static String summarizeMetrics(List<String> urls, Function<List<String>, String> summary) {
        try (HttpClient http = HttpClient.newHttpClient()) {
            List<String> texts = new ArrayList<>();
            for (String url : urls) {
                texts.add(http.send(HttpRequest.newBuilder(URI.create(url + "/metrics")).build(),
                        HttpResponse.BodyHandlers.ofString()).body());
            }
            return summary.apply(texts);
        } catch (IOException e) {
            return "unavailable (" + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unavailable";
        }
    }

    /**
     * Multi-turn chat: each conversation's rounds in sequence, conversations arriving Poisson. {@code agentic}: every
     * round but the last ends in a tool call (declared with {@code kvmesh_tool_call}, the session in
     * {@code x-kvmesh-session}), which takes 0.2-2 s before the next round brings its result: the pod keeps, swaps or
     * discards the paused KV (LAMPS), and the router must send the next round back to it.
     */
    private void chat(MeshLoad load, List<String> routerUrls, String policy, boolean agentic) throws InterruptedException {
        String workload = agentic ? "agentic tool calls" : "multi-turn chat";
        List<MeshWorkloads.Conversation> conversations = MeshWorkloads.conversations(options.chatRate, options.chatSeconds,
                options.rounds, 300, 20, agentic ? 13 : 11);
        progress(String.format(Locale.ROOT, "%s, %s: %d conversations x %d rounds", policy, workload, conversations.size(), options.rounds));
        List<MeshLoad.Outcome> answered = Collections.synchronizedList(new ArrayList<>());
        long start = System.nanoTime();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (MeshWorkloads.Conversation conversation : conversations) {
                LockSupport.parkNanos(start + conversation.startNanos() - System.nanoTime());
                threads.submit(() -> {
                    String prompt = conversation.opening();
                    SplittableRandom calls = new SplittableRandom(conversation.id());
                    for (int round = 0; round < options.rounds; round++) {
                        boolean last = round + 1 == options.rounds;
                        String tool = agentic && !last ? AGENT_TOOLS.get(calls.nextInt(AGENT_TOOLS.size())) : null;
                        // A conversation keeps its router replica (a client's connection), conversations spread over them.
                        MeshLoad.Outcome outcome = load.send(routerUrls.get(conversation.id() % routerUrls.size()), SIM_MODEL, policy + "/" + workload, CHAT_MAX_TOKENS,
                                conversation.id(), prompt, agentic ? policy + "-session-" + conversation.id() : null, tool);
                        answered.add(outcome);
                        if (!outcome.ok() || last) {
                            return;
                        }
                        if (tool != null) {
                            try {
                                Thread.sleep(200 + calls.nextInt(1800));
                            } catch (InterruptedException e) {
                                return;
                            }
                            prompt = prompt + outcome.text() + "\nTool " + tool + " returned: "
                                    + MeshWorkloads.words(calls, 30) + conversation.questions().get(round);
                        } else {
                            prompt = prompt + outcome.text() + conversation.questions().get(round);
                        }
                    }
                });
            }
            threads.shutdown();
            if (!threads.awaitTermination(180, TimeUnit.SECONDS)) {
                threads.shutdownNow();
            }
        }
        int requests = conversations.size() * options.rounds;
        record(workload, policy, options.chatRate * options.rounds, requests,
                new MeshLoad.Step(List.copyOf(answered), requests - answered.size(), 0, start));
    }

    /**
     * Where a step's work went: each pod's share of the prompt tokens it had to compute (uncached), how many groups
     * were served by more than one pod, and the requests that computed most of their prompt (under half cached): on a
     * pod new to their group in this step, by the router's reason for sending them there, or on a pod that had served
     * the group before in the step (it had evicted the prefix). A placement is only as fast as its busiest pod.
     */
    static String placement(MeshLoad.Step step) {
        Map<String, Long> computed = new TreeMap<>();
        Map<Integer, Set<String>> podsByGroup = new HashMap<>();
        Map<String, Integer> recomputed = new TreeMap<>();
        List<MeshLoad.Outcome> ok = step.outcomes().stream().filter(o -> o.ok() && o.pod() != null)
                .sorted(Comparator.comparingLong(MeshLoad.Outcome::sentNanos)).toList();
        for (MeshLoad.Outcome o : ok) {
            computed.merge(o.pod(), (long) o.promptTokens() - o.cachedTokens(), Long::sum);
            boolean newPod = podsByGroup.computeIfAbsent(o.group(), g -> new HashSet<>()).add(o.pod());
            if (2L * o.cachedTokens() < o.promptTokens()) {
                recomputed.merge(newPod ? "new pod (" + o.reason() + ")" : "evicted", 1, Integer::sum);
            }
        }
        if (computed.isEmpty()) {
            return "placement: no answers";
        }
        double mean = computed.values().stream().mapToLong(Long::longValue).average().orElse(0);
        long max = computed.values().stream().mapToLong(Long::longValue).max().orElse(0);
        long spread = podsByGroup.values().stream().filter(pods -> pods.size() > 1).count();
        return String.format(Locale.ROOT, "placement: computed prompt tokens per pod %s (busiest/mean %.2f); %d of %d groups"
                + " on >1 pod; mostly computed: %s", computed.values(), mean == 0 ? 0 : max / mean, spread, podsByGroup.size(),
                recomputed.isEmpty() ? "none" : recomputed);
    }

    private void record(String workload, String policy, double offered, int planned, MeshLoad.Step step) {
        List<MeshLoad.Outcome> ok = step.outcomes().stream().filter(MeshLoad.Outcome::ok).toList();
        List<MeshLoad.Outcome> failed = step.outcomes().stream().filter(o -> !o.ok()).toList();
        outcomes.computeIfAbsent(workload, w -> new LinkedHashMap<>()).computeIfAbsent(policy, p -> new ArrayList<>())
                .addAll(step.outcomes().stream().sorted(Comparator.comparingLong(MeshLoad.Outcome::sentNanos)).toList());
        long end = ok.stream().mapToLong(MeshLoad.Outcome::doneNanos).max().orElse(step.startNanos() + 1);
        double seconds = (end - step.startNanos()) / 1e9;
        long[] ttft = ok.stream().mapToLong(MeshLoad.Outcome::ttftNanos).sorted().toArray();
        long[] e2e = ok.stream().mapToLong(MeshLoad.Outcome::e2eNanos).sorted().toArray();
        long prompt = ok.stream().mapToLong(MeshLoad.Outcome::promptTokens).sum();
        long cached = ok.stream().mapToLong(MeshLoad.Outcome::cachedTokens).sum();
        long predicted = ok.stream().mapToLong(o -> Math.min(o.predictedCachedTokens(), o.promptTokens())).sum();
        long output = ok.stream().mapToLong(MeshLoad.Outcome::completionTokens).sum();
        rows.add(new Row(workload, policy, offered, planned - step.notSent(), ok.size(), failed.size() + step.unfinished(),
                step.notSent(), ok.size() / seconds, output / seconds, pct(ttft, 0.5) / 1e6, pct(ttft, 0.9) / 1e6,
                pct(ttft, 0.99) / 1e6, pct(e2e, 0.5) / 1e6, pct(e2e, 0.99) / 1e6,
                prompt == 0 ? 0 : (double) cached / prompt, prompt == 0 ? 0 : (double) predicted / prompt, Double.NaN,
                failed.isEmpty() ? "" : failed.getFirst().error()));
        if (!failed.isEmpty()) {
            System.out.println("  " + failed.size() + " failed, first: " + failed.getFirst().error());
        }
    }

    /**
     * The best any placement could reuse: a group's system prompt computed once (its first request in the ladder),
     * every later request reusing the group's longest reusable prefix, taken as the most any request of that group
     * had cached under any policy (block-aligned by the pods themselves). Fills each shared-prefix row's ratio, and
     * the workload's capacity bound ({@link #capacityBound}).
     */
    private void oracle() {
        for (Map.Entry<String, Map<String, List<MeshLoad.Outcome>>> workload : outcomes.entrySet()) {
            if (!workload.getKey().startsWith("shared-prefix")) {
                continue;
            }
            Map<Integer, Integer> reusable = new HashMap<>();
            workload.getValue().values().forEach(list -> list.stream().filter(MeshLoad.Outcome::ok)
                    .forEach(o -> reusable.merge(o.group(), o.cachedTokens(), Math::max)));
            for (Map.Entry<String, List<MeshLoad.Outcome>> policy : workload.getValue().entrySet()) {
                Set<Integer> seen = new HashSet<>();
                long oracleCached = 0;
                long cached = 0;
                for (MeshLoad.Outcome outcome : policy.getValue()) {
                    boolean first = seen.add(outcome.group());
                    if (outcome.ok()) {
                        oracleCached += first ? 0 : reusable.getOrDefault(outcome.group(), 0);
                        cached += outcome.cachedTokens();
                    }
                }
                capacityBounds.putIfAbsent(workload.getKey(), capacityBound(policy.getValue(), reusable));
                double ratio = oracleCached == 0 ? Double.NaN : (double) cached / oracleCached;
                for (int i = 0; i < rows.size(); i++) {
                    Row row = rows.get(i);
                    if (row.workload().equals(workload.getKey()) && row.policy().equals(policy.getKey())) {
                        rows.set(i, new Row(row.workload(), row.policy(), row.offered(), row.sent(), row.completed(), row.errors(),
                                row.notSent(), row.requestsPerSecond(), row.outputTokensPerSecond(), row.ttftP50(), row.ttftP90(),
                                row.ttftP99(), row.e2eP50(), row.e2eP99(), row.hit(), row.predictedHit(), ratio, row.firstError()));
                    }
                }
            }
        }
    }

    /**
     * Requests/s the pods could complete at most on the oracle's reuse, from the sim's cost model: each request's
     * uncached prompt tokens at the prefill cost, each output token after the first at the decode cost of a full batch
     * ({@code max-running}), every pod busy all the time, no queueing, no eviction. No routing policy can beat it; a
     * goal above it cannot be met on these pods whatever the router does.
     */
    private double capacityBound(List<MeshLoad.Outcome> sent, Map<Integer, Integer> reusable) {
        double prefill = podSetting("kvmesh.sim.prefill-micros-per-token", 0);
        double step = podSetting("kvmesh.sim.decode-step-micros", 0);
        double perSequence = podSetting("kvmesh.sim.decode-micros-per-sequence", 0);
        double batch = podSetting("kvmesh.scheduler.max-running", 64);
        Set<Integer> seen = new HashSet<>();
        double totalMicros = 0;
        int requests = 0;
        for (MeshLoad.Outcome outcome : sent) {
            boolean first = seen.add(outcome.group());
            if (outcome.ok()) {
                int uncached = outcome.promptTokens() - (first ? 0 : reusable.getOrDefault(outcome.group(), 0));
                totalMicros += uncached * prefill + Math.max(0, outcome.completionTokens() - 1) * (step / batch + perSequence);
                requests++;
            }
        }
        return requests == 0 || totalMicros == 0 ? Double.NaN : options.pods * 1e6 * requests / totalMicros;
    }

    private double podSetting(String key, double otherwise) {
        String value = options.sim.get(key);
        return value == null ? otherwise : Double.parseDouble(value);
    }

    private Optional<Row> best(String workload, String policy) {
        return rows.stream().filter(r -> r.workload().equals(workload) && r.policy().equals(policy))
                .max(Comparator.comparingDouble(Row::requestsPerSecond));
    }

    /** The goals for each shared-prefix working set (those whose policies ran). */
    private void goals() {
        for (double fraction : options.fractions) {
            String workload = sharedName(fraction);
            Optional<Row> aware = best(workload, "prefix-aware");
            if (aware.isEmpty()) {
                continue;
            }
            double bound = capacityBounds.getOrDefault(workload, Double.NaN);
            best(workload, "round-robin").ifPresent(rr -> goals.add(new Goal(workload + ": prefix-aware req/s / round-robin",
                    aware.get().requestsPerSecond() / rr.requestsPerSecond(), 2.6, String.format(Locale.ROOT,
                    "best completed req/s over the ladder: %.1f vs %.1f; 2.6x needs %.1f, the pods' capacity bound is %.1f",
                    aware.get().requestsPerSecond(), rr.requestsPerSecond(), 2.6 * rr.requestsPerSecond(), bound))));
            // TTFT at the highest offered rate at which both policies got every request (none dropped at the in-flight
            // bound, none failed): the same offered load on both sides; every rate's ratio is listed too.
            List<Row> awareRows = rows.stream().filter(r -> r.workload().equals(workload) && r.policy().equals("prefix-aware")).toList();
            List<Row> rrRows = rows.stream().filter(r -> r.workload().equals(workload) && r.policy().equals("round-robin")).toList();
            if (!rrRows.isEmpty()) {
                StringBuilder all = new StringBuilder();
                Row atRow = null;
                Row rrAt = null;
                for (Row at : awareRows) {
                    Row rr = rrRows.stream().filter(r -> r.offered() == at.offered()).findFirst().orElse(null);
                    if (rr == null) {
                        continue;
                    }
                    all.append(String.format(Locale.ROOT, "%s%.0f req/s %.1fx", all.isEmpty() ? "" : ", ", at.offered(),
                            rr.ttftP50() / at.ttftP50()));
                    if (at.notSent() == 0 && rr.notSent() == 0 && at.errors() == 0 && rr.errors() == 0) {
                        atRow = at;
                        rrAt = rr;
                    }
                }
                if (atRow != null) {
                    goals.add(new Goal(workload + ": round-robin TTFT p50 / prefix-aware", rrAt.ttftP50() / atRow.ttftP50(), 10,
                            String.format(Locale.ROOT, "at %.0f req/s (the highest with nothing dropped): %.0f ms vs %.1f ms; by rate: %s",
                                    atRow.offered(), rrAt.ttftP50(), atRow.ttftP50(), all)));
                }
            }
            rows.stream().filter(r -> r.workload().equals(workload) && r.policy().equals("prefix-aware")).findFirst()
                    .ifPresent(r -> goals.add(new Goal(workload + ": prefix-aware hit / oracle hit", r.oracleRatio(), 0.95,
                            "cached tokens over the whole ladder / the oracle's (each group computed once)")));
            best(workload, "approximate-prefix").ifPresent(approx -> goals.add(new Goal(workload + ": prefix-aware req/s / approximate-prefix",
                    aware.get().requestsPerSecond() / approx.requestsPerSecond(), 1.25, String.format(Locale.ROOT,
                    "best completed req/s with %d router%s: %.1f vs %.1f; 1.25x needs %.1f, the pods' capacity bound is %.1f "
                            + "(approximate-prefix completes %.2f of it)", options.routers, options.routers == 1 ? "" : "s",
                    aware.get().requestsPerSecond(), approx.requestsPerSecond(), 1.25 * approx.requestsPerSecond(), bound,
                    approx.requestsPerSecond() / bound))));
        }
    }

    private void printTable() {
        System.out.println();
        String header = String.format(Locale.ROOT, "%-20s %-18s %7s %6s %6s %8s %8s %9s %9s %9s %9s %9s %6s %6s %7s %5s",
                "workload", "policy", "offered", "done", "errors", "req/s", "tok/s", "TTFT p50", "TTFT p90", "TTFT p99",
                "E2E p50", "E2E p99", "hit", "pred", "/oracle", "drop");
        System.out.println(header);
        System.out.println("-".repeat(header.length()));
        for (Row row : rows) {
            System.out.printf(Locale.ROOT, "%-20s %-18s %7.1f %6d %6d %8s %8s %9s %9s %9s %9s %9s %6.2f %6.2f %7s %5d%n",
                    row.workload(), row.policy(), row.offered(), row.completed(), row.errors(), format(row.requestsPerSecond()),
                    format(row.outputTokensPerSecond()), format(row.ttftP50()), format(row.ttftP90()), format(row.ttftP99()),
                    format(row.e2eP50()), format(row.e2eP99()), row.hit(), row.predictedHit(),
                    Double.isNaN(row.oracleRatio()) ? "-" : String.format(Locale.ROOT, "%.2f", row.oracleRatio()), row.notSent());
        }
        System.out.println("(times in ms; hit = cached / prompt tokens from the pods' usage; pred = the router's predicted hit; "
                + "/oracle = the policy's cached tokens over the whole ladder / the oracle's; drop = not sent, "
                + MeshLoad.MAX_IN_FLIGHT + " already open)");
        decisions.forEach((policy, reasons) -> System.out.println("router decisions, " + policy + ": " + reasons));
        capacityBounds.forEach((workload, bound) -> System.out.printf(Locale.ROOT,
                "%s: capacity bound %.1f req/s (the oracle's reuse, full batches, no queueing: no placement completes more)%n",
                workload, bound));
        System.out.println();
        for (Goal goal : goals) {
            System.out.printf(Locale.ROOT, "%-62s %8.2f   goal >= %-5s %-8s %s%n", goal.name(), goal.measured(), format(goal.goal()),
                    goal.met() ? "met" : "NOT MET", goal.how());
        }
    }

    private void writeCsv() throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add("workload,policy,offered_rps,sent,completed,errors,not_sent,rps,output_tps,ttft_p50_ms,ttft_p90_ms,ttft_p99_ms,"
                + "e2e_p50_ms,e2e_p99_ms,hit,predicted_hit,oracle_ratio,first_error");
        for (Row row : rows) {
            lines.add(String.join(",", quote(row.workload()), row.policy(), num(row.offered()), Integer.toString(row.sent()),
                    Integer.toString(row.completed()), Integer.toString(row.errors()), Integer.toString(row.notSent()),
                    num(row.requestsPerSecond()), num(row.outputTokensPerSecond()), num(row.ttftP50()), num(row.ttftP90()),
                    num(row.ttftP99()), num(row.e2eP50()), num(row.e2eP99()), num(row.hit()), num(row.predictedHit()),
                    Double.isNaN(row.oracleRatio()) ? "" : num(row.oracleRatio()), quote(row.firstError())));
        }
        lines.add("");
        lines.add("goal,measured,target,met,how");
        for (Goal goal : goals) {
            lines.add(String.join(",", quote(goal.name()), num(goal.measured()), num(goal.goal()), goal.met() ? "met" : "not met",
                    quote(goal.how())));
        }
        // What was run, so a CSV read later says which configuration its figures belong to.
        lines.add("");
        lines.add("setting,value");
        lines.add("pods," + options.pods);
        lines.add("kv_blocks_per_pod," + options.kvBlocks);
        lines.add("routers_per_policy," + options.routers);
        lines.add("system_words," + options.systemWords);
        lines.add("question_words," + options.questionWords);
        lines.add("output_tokens," + options.outputTokens);
        lines.add("step_seconds," + num(options.seconds));
        options.sim.forEach((key, value) -> lines.add(quote(key) + "," + quote(value)));
        options.routerSettings.forEach((key, value) -> lines.add(quote("router " + key) + "," + quote(value)));
        capacityBounds.forEach((workload, bound) -> lines.add(quote("capacity_bound_rps " + workload) + "," + num(bound)));
        Files.createDirectories(options.csv.toAbsolutePath().getParent());
        Files.write(options.csv, lines);
        System.out.println("wrote " + options.csv.toAbsolutePath());
    }

    private static String num(double value) {
        return String.format(Locale.ROOT, "%.4f", value);
    }
}
