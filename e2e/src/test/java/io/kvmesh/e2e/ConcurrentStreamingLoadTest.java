package io.kvmesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.kvmesh.e2e.local.LocalMesh;
import io.kvmesh.e2e.local.ServiceProcess;

/**
 * 500 concurrent streaming clients through the prefix-aware router for a bounded time. Each client is a closed loop
 * on its own HTTP/1.1 connection (a virtual thread blocking on the SSE body): it sends a streaming completion or chat
 * request (prompts sharing three prefixes), reads the stream to {@code data: [DONE]}, and sends the next, for
 * {@link #LOAD}. Per request the test measures TTFT (first {@code data:} event) and end-to-end time, and classifies
 * every failure: a status other than 200, an error event in the stream, a stream without {@code [DONE]} or with fewer
 * tokens than asked for, a timeout, a broken connection. None may happen. At some moment at least
 * {@link #MIN_PEAK_OPEN_STREAMS} streams must be open at once (answer headers received, {@code [DONE]} not yet).
 * Memory, for the router, the pods and the cache index: the RSS ({@code /proc/PID/status}), sampled twice a second,
 * stays under {@link #RSS_LIMIT_BYTES} (each runs with {@code -Xmx1g}); and nothing keeps growing: the live heap after a
 * full GC ({@code jcmd PID GC.class_histogram}) after the load is at most {@link #MAX_LIVE_HEAP_GROWTH_BYTES} above
 * the one before it. (RSS alone cannot tell a leak from G1 touching more of its committed heap, which moved the
 * router's RSS by up to 1.3× between the load's middle and last thirds in leak-free runs; the report shows that
 * ratio.) Afterwards every pod is idle again (nothing running or waiting), the router's client connections are gone
 * once the client closes, the router counted no upstream failure, and the pods finished exactly as many requests as
 * the clients completed. One report line gives the figures.
 *
 * <p>Sim costs: a 100 ms decode step (+10 µs per sequence) and 24–40 tokens per answer make each stream last 2.4–4 s,
 * so 500 are really open at once, while the whole mesh (about 1.4 cores at ~100 req/s, ~3,500 SSE events/s
 * through the router) still fits on two shared cores; with a 40 ms step and 16–32 tokens the cores saturated and the
 * streams spent a quarter to nearly half of their time waiting for a first byte.
 */
class ConcurrentStreamingLoadTest {

    private static final int CLIENTS = 500;
    /** 20 s in {@code ./kvmesh test}; a longer profile: {@code -Dkvmesh.load.seconds=300}. */
    private static final Duration LOAD = Duration.ofSeconds(Long.getLong("kvmesh.load.seconds", 20));
    /** Generous: a request must never take this long even on two busy cores. */
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration RAMP_UP = Duration.ofSeconds(1);
    private static final int MIN_PEAK_OPEN_STREAMS = 450;
    private static final long RSS_LIMIT_BYTES = 1L << 30;
    /**
     * Live heap (after a full GC) the load may leave behind per process: legitimately the index entries of its blocks,
     * well under a MiB here; a leak of ~10 KB per request (~3,000 requests) fails it.
     */
    private static final long MAX_LIVE_HEAP_GROWTH_BYTES = 32L << 20;
    private static final double MIB = 1 << 20;
    private static final int HTTP_CLIENTS = 4;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> PREFIXES = MeshProbe.LOAD_PREFIXES;

    private static LocalMesh mesh;
    private static HttpClient control;

    @BeforeAll
    static void startMesh() throws Exception {
        Path runs = E2eRuns.freshDirectory("concurrent-streaming-load");
        mesh = LocalMesh.start(LocalMesh.Options.defaults(E2eRuns.root())
                .withPods(3)
                .withRouterPort(0)
                .withPolicy("prefix-aware")
                .withRunDirectory(runs)
                .withSettings(Map.of(
                        "kvmesh.sim.prefill-micros-per-token", "20",
                        "kvmesh.sim.decode-step-micros", "100000",
                        "kvmesh.sim.decode-micros-per-sequence", "10",
                        // Every one of the 500 may run on one pod (prefix-aware routing may send a prefix's traffic to one).
                        "kvmesh.scheduler.max-running", "512",
                        "kvmesh.kv-blocks", "16384")),
                line -> { });
        control = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stopMesh() {
        if (control != null) {
            control.close();
        }
        if (mesh != null) {
            mesh.close();
        }
    }

    enum Failure { STATUS, ERROR_EVENT, NO_DONE, SHORT_STREAM, TIMEOUT, CONNECTION }

    /** One request's outcome: {@code failure} null when it completed; times in nanoseconds. */
    record Result(Failure failure, long ttftNanos, long e2eNanos, String detail) {
    }

    /** A request in progress, for the watchdog that ends any that overrun {@link #REQUEST_TIMEOUT}. */
    static final class Call {
        final long deadline;
        final Thread thread = Thread.currentThread();
        volatile InputStream body;
        volatile boolean timedOut;
        private boolean finished;

        /** Called by the watchdog: ends the request if it is still running. */
        synchronized void expire() {
            if (finished || timedOut) {
                return;
            }
            timedOut = true;
            InputStream open = body;
            if (open != null) {
                try {
                    open.close();
                } catch (IOException e) {
                    // the reader sees it anyway
                }
            }
            thread.interrupt();
        }

        /** Called by the request's own thread when it is over: no interrupt reaches the next request. */
        synchronized void finish() {
            finished = true;
            Thread.interrupted();
        }

        Call(long deadline) {
            this.deadline = deadline;
        }
    }

    /** RSS samples of one process: (nanoTime, bytes). */
    record Rss(String name, long pid, List<long[]> samples) {
    }

    @Test
    void fiveHundredConcurrentStreamsCompleteWithBoundedMemory() throws Exception {
        long started = System.nanoTime();
        warmUp();
        Map<String, Double> finishedBefore = podValues(scrapePods(), "vllm:request_success_total");
        Map<String, Double> routerBefore = routerSeries();

        List<ServiceProcess> watched = new ArrayList<>();
        watched.add(mesh.router());
        watched.addAll(mesh.runtimes());
        watched.add(mesh.cacheIndex());
        Map<String, ClassHistogram> heapBefore = liveHeaps(watched);
        List<Rss> rss = watched.stream().map(p -> new Rss(p.name(), p.pid(), new ArrayList<>())).toList();
        rss.forEach(r -> r.samples().add(new long[] {System.nanoTime(), rssBytes(r.pid())}));

        Map<String, Long> cpuPids = new LinkedHashMap<>();
        watched.forEach(p -> cpuPids.put(p.name(), p.pid()));
        cpuPids.put("kafka", mesh.broker().pid());
        cpuPids.put("test", ProcessHandle.current().pid());
        Map<String, Long> cpuBefore = new LinkedHashMap<>();
        cpuPids.forEach((name, pid) -> cpuBefore.put(name, cpuTicks(pid)));
        long[] machineBefore = machineTicks();

        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger openStreams = new AtomicInteger();
        AtomicInteger peakInFlight = new AtomicInteger();
        AtomicInteger peakOpenStreams = new AtomicInteger();
        AtomicInteger peakPodSequences = new AtomicInteger();
        List<Integer> openStreamSamples = new ArrayList<>();
        Set<Call> calls = ConcurrentHashMap.newKeySet();
        ConcurrentLinkedQueue<Result> results = new ConcurrentLinkedQueue<>();
        HttpClient[] clients = new HttpClient[HTTP_CLIENTS];
        for (int i = 0; i < clients.length; i++) {
            clients[i] = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
        }

        long loadStart = System.nanoTime();
        long loadEnd = loadStart + LOAD.toNanos();
        ScheduledExecutorService sampler = Executors.newScheduledThreadPool(2);
        sampler.scheduleAtFixedRate(() -> {
            long now = System.nanoTime();
            for (Call call : calls) {
                if (now > call.deadline) {
                    call.expire();
                }
            }
        }, 200, 200, TimeUnit.MILLISECONDS);
        sampler.scheduleAtFixedRate(() -> {
            long now = System.nanoTime();
            rss.forEach(r -> {
                synchronized (r.samples()) {
                    r.samples().add(new long[] {now, rssBytes(r.pid())});
                }
            });
            if (now < loadEnd) {
                synchronized (openStreamSamples) {
                    openStreamSamples.add(openStreams.get());
                }
            }
            peakPodSequences.accumulateAndGet((int) podSequences(scrapePods()), Math::max);
        }, 500, 500, TimeUnit.MILLISECONDS);

        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
            int client = c;
            long firstAt = loadStart + RAMP_UP.toNanos() * c / CLIENTS;
            threads.add(Thread.ofVirtual().name("load-client-" + c).start(() -> {
                SplittableRandom random = new SplittableRandom(client);
                HttpClient http = clients[client % clients.length];
                sleepUntil(firstAt);
                for (int n = 0; System.nanoTime() < loadEnd; n++) {
                    results.add(stream(http, client, n, random, calls, inFlight, openStreams, peakInFlight, peakOpenStreams));
                }
            }));
        }
        long drainDeadline = loadEnd + REQUEST_TIMEOUT.toNanos() + TimeUnit.SECONDS.toNanos(5);
        for (Thread thread : threads) {
            thread.join(Duration.ofNanos(Math.max(1, drainDeadline - System.nanoTime())));
        }
        long drained = System.nanoTime();
        long[] machineAfter = machineTicks();
        String cpu = cpuPids.entrySet().stream()
                .map(e -> String.format("%s=%.1f", e.getKey(), (cpuTicks(e.getValue()) - cpuBefore.get(e.getKey())) / 100.0))
                .collect(Collectors.joining(" ")) + String.format(" machine busy=%.0f%%",
                100.0 * (machineAfter[0] - machineBefore[0]) / Math.max(1, machineAfter[1] - machineBefore[1]));
        long stuck = threads.stream().filter(Thread::isAlive).count();
        sampler.shutdownNow();
        sampler.awaitTermination(5, TimeUnit.SECONDS);
        for (HttpClient client : clients) {
            client.shutdownNow();
        }
        rss.forEach(r -> r.samples().add(new long[] {System.nanoTime(), rssBytes(r.pid())}));

        // The figures.
        List<Result> all = List.copyOf(results);
        List<Result> ok = all.stream().filter(r -> r.failure() == null).toList();
        Map<Failure, Long> failures = new EnumMap<>(Failure.class);
        all.stream().filter(r -> r.failure() != null).forEach(r -> failures.merge(r.failure(), 1L, Long::sum));
        long[] ttft = ok.stream().mapToLong(Result::ttftNanos).sorted().toArray();
        long[] e2e = ok.stream().mapToLong(Result::e2eNanos).sorted().toArray();
        double seconds = (drained - loadStart) / 1e9;
        int medianOpen;
        synchronized (openStreamSamples) {
            // The steady state: from the end of the ramp-up to the end of the load.
            int[] steady = openStreamSamples.stream().skip((RAMP_UP.toMillis() + 999) / 500 + 1).mapToInt(i -> i).sorted().toArray();
            medianOpen = steady.length == 0 ? 0 : steady[steady.length / 2];
        }
        Map<String, String> idle = awaitPodsIdle();
        Map<String, Double> finishedAfter = podValues(idle, "vllm:request_success_total");
        double podsFinished = finishedAfter.keySet().stream()
                .mapToDouble(pod -> finishedAfter.get(pod) - finishedBefore.getOrDefault(pod, 0.0)).sum();
        Map<String, Double> routerAfter = routerSeries();
        Map<String, ClassHistogram> heapAfter = liveHeaps(watched);
        String heaps = watched.stream().map(p -> String.format("%s=%.1f/%.1f", p.name(), heapBefore.get(p.name()).totalBytes() / MIB,
                heapAfter.get(p.name()).totalBytes() / MIB)).collect(Collectors.joining(" "));
        String routing = routerAfter.entrySet().stream()
                .filter(e -> e.getValue() - routerBefore.getOrDefault(e.getKey(), 0.0) > 0)
                .map(e -> e.getKey() + "=" + Math.round(e.getValue() - routerBefore.getOrDefault(e.getKey(), 0.0)))
                .collect(Collectors.joining(" "));
        System.out.printf("ConcurrentStreamingLoadTest: clients=%d load=%ds requests=%d completed=%d (%.0f req/s over %.1fs)"
                        + " failures=%s TTFT p50/p90/p99=%s ms E2E p50/p90/p99=%s ms; peak in-flight=%d peak open streams=%d"
                        + " (median %d) peak pod running+waiting=%d; RSS MiB start/peak/end(last/middle third of the load) %s;"
                        + " live heap MiB before/after %s; CPU s during the load %s; router %s; wall %.1fs%n",
                CLIENTS, LOAD.toSeconds(), all.size(), ok.size(), ok.size() / seconds, seconds, failures,
                percentiles(ttft), percentiles(e2e), peakInFlight.get(), peakOpenStreams.get(), medianOpen,
                peakPodSequences.get(), rss.stream().map(r -> String.format("%s=%d/%d/%d(x%.2f)", r.name(),
                                mib(r.samples().getFirst()[1]), mib(r.samples().stream().mapToLong(s -> s[1]).max().orElse(0)),
                                mib(r.samples().getLast()[1]), growth(r, loadStart, loadEnd)))
                        .collect(Collectors.joining(" ")),
                heaps, cpu, routing, (System.nanoTime() - started) / 1e9);
        System.out.println("  live heap grew most: " + watched.stream().map(p -> p.name() + ": "
                + heapAfter.get(p.name()).grewMost(heapBefore.get(p.name()), 3)).collect(Collectors.joining("; ")));
        all.stream().filter(r -> r.failure() != null).limit(20).forEach(r -> System.out.println("  failed: " + r));

        assertThat(stuck).as("clients still streaming %d s after the load ended", REQUEST_TIMEOUT.toSeconds() + 5).isZero();
        assertThat(failures).as("failed requests by kind").isEmpty();
        assertThat(ok.size()).as("requests completed").isGreaterThanOrEqualTo(2 * CLIENTS);
        assertThat(peakOpenStreams.get()).as("streams open at once at the peak").isGreaterThanOrEqualTo(MIN_PEAK_OPEN_STREAMS);
        for (Rss r : rss) {
            long peak = r.samples().stream().mapToLong(s -> s[1]).max().orElseThrow();
            assertThat(peak).as("%s peak RSS (bytes)", r.name()).isPositive().isLessThan(RSS_LIMIT_BYTES);
        }
        for (ServiceProcess process : watched) {
            ClassHistogram before = heapBefore.get(process.name());
            ClassHistogram after = heapAfter.get(process.name());
            assertThat(after.totalBytes() - before.totalBytes())
                    .as("%s live heap after the load minus before (bytes); grew most: %s", process.name(), after.grewMost(before, 5))
                    .isLessThan(MAX_LIVE_HEAP_GROWTH_BYTES);
        }
        assertThat(podSequences(idle)).as("requests still running or waiting on the pods 15 s after the load").isZero();
        assertThat(finishedAfter).as("pods reporting").hasSize(mesh.runtimes().size());
        assertThat(podsFinished).as("requests the pods finished vs completed by the clients").isEqualTo(ok.size());
        assertThat(routerUpstreamFailures()).as("router upstream failures (before-answer, mid-answer)").isZero();
        // The warm-up and the scrapes kept connections to the router too: every client of the test is closed now.
        control.close();
        assertThat(awaitNoConnections(mesh.router().port())).as("router client connections after the clients closed").isZero();
        assertThat(mesh.router().isAlive()).isTrue();
        assertThat(mesh.runtimes()).allMatch(ServiceProcess::isAlive);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(80));
    }

    /** A process's live objects (after the full GC that {@code jcmd PID GC.class_histogram} runs): bytes by class. */
    record ClassHistogram(long totalBytes, Map<String, Long> bytesByClass) {

        private static final Pattern ROW = Pattern.compile("^\\s*\\d+:\\s+\\d+\\s+(\\d+)\\s+(\\S+)", Pattern.MULTILINE);
        private static final Pattern TOTAL = Pattern.compile("^Total\\s+\\d+\\s+(\\d+)", Pattern.MULTILINE);

        static ClassHistogram of(long pid) {
            String output;
            try {
                Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                        Long.toString(pid), "GC.class_histogram").redirectErrorStream(true).start();
                output = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!jcmd.waitFor(60, TimeUnit.SECONDS) || jcmd.exitValue() != 0) {
                    throw new AssertionError("jcmd " + pid + " GC.class_histogram failed: " + abbreviate(output));
                }
            } catch (IOException e) {
                throw new AssertionError("cannot run jcmd", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            }
            Matcher total = TOTAL.matcher(output);
            if (!total.find()) {
                throw new AssertionError("no Total in the class histogram of " + pid + ": " + abbreviate(output));
            }
            Map<String, Long> byClass = new LinkedHashMap<>();
            for (Matcher row = ROW.matcher(output); row.find(); ) {
                byClass.merge(row.group(2), Long.parseLong(row.group(1)), Long::sum);
            }
            return new ClassHistogram(Long.parseLong(total.group(1)), byClass);
        }

        /** The {@code count} classes whose live bytes grew most since {@code before}. */
        String grewMost(ClassHistogram before, int count) {
            return bytesByClass.entrySet().stream()
                    .map(e -> Map.entry(e.getKey(), e.getValue() - before.bytesByClass().getOrDefault(e.getKey(), 0L)))
                    .sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(count)
                    .map(e -> e.getKey() + " +" + e.getValue()).collect(Collectors.joining(", "));
        }
    }

    /** The live heap of each process, taken in parallel. */
    private static Map<String, ClassHistogram> liveHeaps(List<ServiceProcess> processes) throws Exception {
        Map<String, ClassHistogram> heaps = new ConcurrentHashMap<>();
        List<Thread> threads = processes.stream()
                .map(p -> Thread.ofVirtual().start(() -> heaps.put(p.name(), ClassHistogram.of(p.pid())))).toList();
        for (Thread thread : threads) {
            thread.join(Duration.ofSeconds(90));
        }
        assertThat(heaps.keySet()).as("class histograms").hasSize(processes.size());
        return heaps;
    }

    /** One streaming request, read to its end; never throws. */
    private static Result stream(HttpClient http, int client, int n, SplittableRandom random, Set<Call> calls,
                                 AtomicInteger inFlight, AtomicInteger openStreams, AtomicInteger peakInFlight,
                                 AtomicInteger peakOpenStreams) {
        String prefix = PREFIXES.get(random.nextInt(PREFIXES.size()));
        String question = "Client " + client + " question " + n + ": what next?";
        int maxTokens = 24 + random.nextInt(17);
        boolean chat = random.nextBoolean();
        String body = chat
                ? "{\"model\":\"kvmesh-sim\",\"messages\":[{\"role\":\"system\",\"content\":\"" + prefix + "\"},{\"role\":\"user\","
                        + "\"content\":\"" + question + "\"}],\"max_tokens\":" + maxTokens
                        + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}"
                : "{\"model\":\"kvmesh-sim\",\"prompt\":\"" + prefix + question + "\",\"max_tokens\":" + maxTokens
                        + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
        HttpRequest request = HttpRequest.newBuilder(URI.create(mesh.routerUrl() + (chat ? "/v1/chat/completions" : "/v1/completions")))
                .timeout(REQUEST_TIMEOUT)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        long sent = System.nanoTime();
        Call call = new Call(sent + REQUEST_TIMEOUT.toNanos());
        calls.add(call);
        peakInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
        boolean open = false;
        long firstData = 0;
        try {
            HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            call.body = response.body();
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
                if (response.statusCode() != 200) {
                    String text = reader.lines().collect(Collectors.joining("\n"));
                    return new Result(Failure.STATUS, 0, 0, response.statusCode() + " " + abbreviate(text));
                }
                open = true;
                peakOpenStreams.accumulateAndGet(openStreams.incrementAndGet(), Math::max);
                JsonNode usage = null;
                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                    if (line.isEmpty()) {
                        continue;
                    }
                    if (!line.startsWith("data: ")) {
                        return new Result(Failure.SHORT_STREAM, 0, 0, "not an SSE data line: " + abbreviate(line));
                    }
                    if (firstData == 0) {
                        firstData = System.nanoTime();
                    }
                    if (line.equals("data: [DONE]")) {
                        long done = System.nanoTime();
                        String extra = reader.readLine();
                        while (extra != null && extra.isEmpty()) {
                            extra = reader.readLine();
                        }
                        if (extra != null) {
                            return new Result(Failure.SHORT_STREAM, 0, 0, "data after [DONE]: " + abbreviate(extra));
                        }
                        if (usage == null || usage.path("completion_tokens").asInt() != maxTokens) {
                            return new Result(Failure.SHORT_STREAM, 0, 0, "usage " + usage + ", asked for " + maxTokens);
                        }
                        return new Result(null, firstData - sent, done - sent, null);
                    }
                    if (line.startsWith("data: {\"error\"")) {
                        return new Result(Failure.ERROR_EVENT, 0, 0, line);
                    }
                    if (line.contains("\"usage\"")) {
                        usage = JSON.readTree(line.substring("data: ".length())).path("usage");
                    }
                }
                return new Result(call.timedOut ? Failure.TIMEOUT : Failure.NO_DONE, 0, 0,
                        "stream ended after " + (System.nanoTime() - sent) / 1_000_000 + " ms without [DONE]");
            }
        } catch (HttpTimeoutException e) {
            return new Result(Failure.TIMEOUT, 0, 0, e.toString());
        } catch (IOException e) {
            return new Result(call.timedOut ? Failure.TIMEOUT : Failure.CONNECTION, 0, 0,
                    e + " after " + (System.nanoTime() - sent) / 1_000_000 + " ms");
        } catch (InterruptedException e) {
            return new Result(Failure.TIMEOUT, 0, 0, e.toString());
        } finally {
            calls.remove(call);
            inFlight.decrementAndGet();
            if (open) {
                openStreams.decrementAndGet();
            }
            call.finish();
        }
    }

    /** A few sequential requests per prefix: the JITs and the pods' prefix caches are warm before the RSS baseline. */
    private static void warmUp() throws Exception {
        for (String prefix : PREFIXES) {
            for (int i = 0; i < 3; i++) {
                HttpResponse<String> response = control.send(HttpRequest.newBuilder(URI.create(mesh.routerUrl() + "/v1/completions"))
                        .timeout(REQUEST_TIMEOUT).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"kvmesh-sim\",\"prompt\":\"" + prefix + "warm-up " + i
                                + "\",\"max_tokens\":8,\"stream\":true}")).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(response.statusCode()).as("warm-up").isEqualTo(200);
                assertThat(response.body()).as("warm-up").endsWith("data: [DONE]\n\n");
            }
        }
    }

    /** Waits (at most 15 s) until no pod runs or queues a request; returns the pods' last metrics. */
    private static Map<String, String> awaitPodsIdle() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (true) {
            Map<String, String> metrics = scrapePods();
            if ((metrics.size() == mesh.runtimes().size() && podSequences(metrics) == 0) || System.nanoTime() > deadline) {
                return metrics;
            }
            Thread.sleep(200);
        }
    }

    /** Each pod's /metrics text, by pod name (a pod that did not answer is missing). */
    private static Map<String, String> scrapePods() {
        Map<String, String> metrics = new LinkedHashMap<>();
        for (ServiceProcess pod : mesh.runtimes()) {
            String text = scrape(pod.url());
            if (text != null) {
                metrics.put(pod.name(), text);
            }
        }
        return metrics;
    }

    /** Requests running or waiting, all pods together. */
    private static double podSequences(Map<String, String> metrics) {
        return podValues(metrics, "vllm:num_requests_running").values().stream().mapToDouble(d -> d).sum()
                + podValues(metrics, "vllm:num_requests_waiting").values().stream().mapToDouble(d -> d).sum();
    }

    /** {@code metric}'s value on each pod whose metrics have it. */
    private static Map<String, Double> podValues(Map<String, String> metrics, String metric) {
        Map<String, Double> values = new LinkedHashMap<>();
        Pattern line = Pattern.compile("^" + Pattern.quote(metric) + "\\{[^}]*\\} (\\S+)$", Pattern.MULTILINE);
        metrics.forEach((pod, text) -> {
            Matcher matcher = line.matcher(text);
            if (matcher.find()) {
                values.put(pod, Double.parseDouble(matcher.group(1)));
            }
        });
        return values;
    }

    private static double routerUpstreamFailures() {
        String metrics = scrape(mesh.routerUrl());
        assertThat(metrics).as("router /metrics").isNotNull();
        Matcher matcher = Pattern.compile("^kvmesh_router_upstream_failures_total\\{[^}]*\\} (\\S+)$", Pattern.MULTILINE)
                .matcher(metrics);
        double sum = 0;
        int found = 0;
        while (matcher.find()) {
            sum += Double.parseDouble(matcher.group(1));
            found++;
        }
        assertThat(found).as("upstream failure series").isEqualTo(2);
        return sum;
    }

    /** The router's decisions by reason and prefix-group members by role. */
    private static Map<String, Double> routerSeries() {
        Map<String, Double> values = new LinkedHashMap<>();
        String metrics = scrape(mesh.routerUrl());
        if (metrics != null) {
            Matcher matcher = Pattern.compile("^kvmesh_router_(decisions|prefix_groups)_total\\{(?:policy=\"[^\"]*\",)?(?:reason|role)=\"([^\"]+)\"\\} (\\S+)$",
                    Pattern.MULTILINE).matcher(metrics);
            while (matcher.find()) {
                values.put(matcher.group(1).replace("prefix_groups", "group") + ":" + matcher.group(2), Double.parseDouble(matcher.group(3)));
            }
        }
        return values;
    }

    private static String scrape(String baseUrl) {
        try {
            HttpResponse<String> response = control.send(HttpRequest.newBuilder(URI.create(baseUrl + "/metrics"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 ? response.body() : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /**
     * Waits (at most 10 s) until no established TCP connection has {@code port} as its local port (the router's side
     * of client connections); returns how many are left.
     */
    private static long awaitNoConnections(int port) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            long left = established(port);
            if (left == 0 || System.nanoTime() > deadline) {
                return left;
            }
            Thread.sleep(200);
        }
    }

    private static long established(int port) throws IOException {
        String hexPort = String.format(":%04X", port);
        long count = 0;
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            Path file = Path.of(table);
            if (!Files.exists(file)) {
                continue;
            }
            count += Files.readAllLines(file).stream().skip(1).map(String::trim).map(l -> l.split("\\s+"))
                    .filter(f -> f.length > 3 && f[1].endsWith(hexPort) && f[3].equals("01")).count();
        }
        return count;
    }

    private static long rssBytes(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                }
            }
        } catch (IOException e) {
            // the process is gone: no sample
        }
        return -1;
    }

    /** The mean RSS over the load's last third divided by the mean over its middle third. */
    private static double growth(Rss rss, long loadStart, long loadEnd) {
        long third = (loadEnd - loadStart) / 3;
        return meanRss(rss, loadStart + 2 * third, loadEnd) / meanRss(rss, loadStart + third, loadStart + 2 * third);
    }

    /** utime + stime of a process, in clock ticks (1/100 s), from {@code /proc/PID/stat}; -1 if it is gone. */
    private static long cpuTicks(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** The machine's busy and total clock ticks, all CPUs (the first line of {@code /proc/stat}). */
    private static long[] machineTicks() {
        try {
            String[] fields = Files.readAllLines(Path.of("/proc/stat")).getFirst().trim().split("\\s+");
            long total = 0;
            for (int i = 1; i < fields.length; i++) {
                total += Long.parseLong(fields[i]);
            }
            long idle = Long.parseLong(fields[4]) + Long.parseLong(fields[5]);
            return new long[] {total - idle, total};
        } catch (IOException | RuntimeException e) {
            return new long[] {0, 0};
        }
    }

    private static double meanRss(Rss rss, long from, long to) {
        synchronized (rss.samples()) {
            return rss.samples().stream().filter(s -> s[0] >= from && s[0] < to && s[1] > 0).mapToLong(s -> s[1]).average()
                    .orElseThrow(() -> new AssertionError("no RSS sample of " + rss.name() + " in the window"));
        }
    }

    private static String percentiles(long[] sortedNanos) {
        if (sortedNanos.length == 0) {
            return "-/-/-";
        }
        return Arrays.stream(new double[] {0.50, 0.90, 0.99})
                .mapToObj(q -> Long.toString(sortedNanos[(int) Math.min(sortedNanos.length - 1, Math.ceil(q * sortedNanos.length) - 1)] / 1_000_000))
                .collect(Collectors.joining("/"));
    }

    private static long mib(long bytes) {
        return bytes < 0 ? -1 : bytes >> 20;
    }

    private static String abbreviate(String text) {
        return text.length() > 300 ? text.substring(0, 300) + "..." : text;
    }

    private static void sleepUntil(long nanoTime) {
        long wait = nanoTime - System.nanoTime();
        if (wait > 0) {
            try {
                TimeUnit.NANOSECONDS.sleep(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
