package io.kvmesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.kvmesh.e2e.local.LocalMesh;
import io.kvmesh.e2e.local.ServiceProcess;

/**
 * kill -9 a runtime pod under load: an open-loop client sends ~50 req/s for ~10 s through the prefix-aware router
 * (streaming and not, prompts sharing prefixes), and after ~3 s the busiest pod is SIGKILLed. Every request must end
 * in exactly one of: a complete 200, a 200 stream that ends with an OpenAI-style error event (the router's
 * mid-stream failure path), or a 503 with an OpenAI JSON error. None may time out, get another status or a broken
 * connection; none may be lost. Once the dead pod's heartbeat has timed out, every request lands on a survivor.
 */
class PodKillUnderLoadTest {

    private static final int RATE_PER_SECOND = 50;
    private static final Duration LOAD = Duration.ofSeconds(10);
    private static final Duration KILL_AFTER = Duration.ofSeconds(3);
    private static final Duration SETTLED_AFTER_KILL = Duration.ofSeconds(5);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(15);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> PREFIXES = MeshProbe.LOAD_PREFIXES;

    private static LocalMesh mesh;
    private static HttpClient http;

    @BeforeAll
    static void startMesh() throws Exception {
        Path runs = E2eRuns.freshDirectory("pod-kill-under-load");
        Path root = E2eRuns.root();
        mesh = LocalMesh.start(LocalMesh.Options.defaults(root)
                .withPods(3)
                .withRouterPort(0)
                .withPolicy("prefix-aware")
                .withRunDirectory(runs)
                .withSettings(Map.of("kvmesh.sim.prefill-micros-per-token", "20", "kvmesh.sim.decode-step-micros", "2000")),
                line -> { });
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stopMesh() {
        if (http != null) {
            http.close();
        }
        if (mesh != null) {
            mesh.close();
        }
    }

    enum Outcome { COMPLETE, STREAM_ERROR_EVENT, UNAVAILABLE_503, TIMEOUT, OTHER_STATUS, BROKEN_200, CONNECTION_ERROR }

    record Result(int index, long sentAtNanos, boolean stream, Outcome outcome, String pod, String detail) {
    }

    @Test
    void killingTheBusiestPodUnderLoadLosesNoRequest() throws Exception {
        long started = System.nanoTime();
        SplittableRandom random = new SplittableRandom(42);
        int total = (int) (LOAD.toSeconds() * RATE_PER_SECOND);
        long intervalNanos = TimeUnit.SECONDS.toNanos(1) / RATE_PER_SECOND;
        Map<String, LongAdder> servedBy = new ConcurrentHashMap<>();
        List<Result> results = Collections.synchronizedList(new ArrayList<>());
        List<CompletableFuture<Void>> pending = new ArrayList<>();
        AtomicLong killedAt = new AtomicLong();
        AtomicLong goneAfterMillis = new AtomicLong(-1);
        String dead = null;
        CompletableFuture<Void> watcher = null;

        long loadStart = System.nanoTime();
        for (int i = 0; i < total; i++) {
            long due = loadStart + i * intervalNanos;
            long wait = due - System.nanoTime();
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
            if (dead == null && System.nanoTime() - loadStart >= KILL_AFTER.toNanos()) {
                dead = servedBy.entrySet().stream().max(Comparator.comparingLong(e -> e.getValue().sum()))
                        .map(Map.Entry::getKey).orElseThrow();
                String victim = dead;
                ServiceProcess pod = mesh.runtimes().stream().filter(p -> p.name().equals(victim)).findFirst().orElseThrow();
                long pid = pod.pid();
                System.out.println("PodKillUnderLoadTest: served so far " + snapshot(servedBy) + "; kill -9 " + victim + " (pid " + pid + ")");
                killedAt.set(System.nanoTime());
                assertThat(ProcessHandle.of(pid).orElseThrow().destroyForcibly()).isTrue();
                watcher = CompletableFuture.runAsync(() -> watchUntilGone(killedAt.get(), goneAfterMillis));
            }
            boolean stream = random.nextBoolean();
            String prompt = PREFIXES.get(random.nextInt(PREFIXES.size())) + "Question " + i + ": what next?";
            int maxTokens = 16 + random.nextInt(17);
            String body = "{\"model\":\"kvmesh-sim\",\"prompt\":\"" + prompt + "\",\"max_tokens\":" + maxTokens
                    + ",\"stream\":" + stream + "}";
            HttpRequest request = HttpRequest.newBuilder(URI.create(mesh.routerUrl() + "/v1/completions"))
                    .timeout(REQUEST_TIMEOUT)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body))
                    .build();
            int index = i;
            long sentAt = System.nanoTime();
            pending.add(http.sendAsync(request, HttpResponse.BodyHandlers.ofString())
                    .orTimeout(REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                    .handle((response, error) -> {
                        Result result = classify(index, sentAt, stream, response, error);
                        if (result.pod() != null && result.outcome() == Outcome.COMPLETE) {
                            servedBy.computeIfAbsent(result.pod(), p -> new LongAdder()).increment();
                        }
                        results.add(result);
                        return null;
                    }));
        }
        CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).get(REQUEST_TIMEOUT.toSeconds() + 10, TimeUnit.SECONDS);
        assertThat(dead).as("a pod was killed").isNotNull();
        watcher.get(10, TimeUnit.SECONDS);

        Map<Outcome, Long> counts = new TreeMap<>(results.stream().collect(Collectors.groupingBy(Result::outcome, Collectors.counting())));
        String finalDead = dead;
        long settled = killedAt.get() + SETTLED_AFTER_KILL.toNanos();
        List<Result> late = results.stream().filter(r -> r.sentAtNanos() >= settled).toList();
        System.out.printf("PodKillUnderLoadTest: sent=%d complete=%d streamErrorEvent=%d unavailable503=%d timeout=%d otherStatus=%d"
                        + " broken200=%d connectionError=%d; killed %s at %.1fs, gone from router after %d ms; after kill+5s: %d"
                        + " requests; served %s; wall %.1fs%n",
                total, counts.getOrDefault(Outcome.COMPLETE, 0L), counts.getOrDefault(Outcome.STREAM_ERROR_EVENT, 0L),
                counts.getOrDefault(Outcome.UNAVAILABLE_503, 0L), counts.getOrDefault(Outcome.TIMEOUT, 0L),
                counts.getOrDefault(Outcome.OTHER_STATUS, 0L), counts.getOrDefault(Outcome.BROKEN_200, 0L),
                counts.getOrDefault(Outcome.CONNECTION_ERROR, 0L), dead, (killedAt.get() - loadStart) / 1e9,
                goneAfterMillis.get(), late.size(), snapshot(servedBy), (System.nanoTime() - started) / 1e9);
        List<Result> bad = results.stream().filter(r -> r.outcome().ordinal() > Outcome.UNAVAILABLE_503.ordinal()).toList();
        bad.stream().limit(20).forEach(r -> System.out.println("  bad: " + r));

        assertThat(results).as("every request ended exactly once, none lost").hasSize(total);
        assertThat(results.stream().map(Result::index).distinct().count()).isEqualTo(total);
        assertThat(bad).as("timeouts, other statuses, broken 200s, connection errors").isEmpty();
        assertThat(late).as("requests sent from kill+5s").isNotEmpty();
        assertThat(late).as("requests sent from kill+5s succeed on a survivor")
                .allSatisfy(r -> {
                    assertThat(r.outcome()).isEqualTo(Outcome.COMPLETE);
                    assertThat(r.pod()).startsWith("runtime-").isNotEqualTo(finalDead);
                });

        assertThat(mesh.router().isAlive()).as("router alive").isTrue();
        assertThat(mesh.runtimes().stream().filter(p -> !p.name().equals(finalDead)).toList())
                .as("survivors alive").hasSize(2).allMatch(ServiceProcess::isAlive);
        assertThat(goneAfterMillis.get()).as("dead pod left the router's live set (ms after kill)")
                .isBetween(0L, 6_000L);
        JsonNode explained = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(mesh.routerUrl() + "/router/explain"))
                        .timeout(Duration.ofSeconds(5)).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"kvmesh-sim\",\"prompt\":\"" + PREFIXES.getFirst()
                                + "after\",\"max_tokens\":4}")).build(),
                HttpResponse.BodyHandlers.ofString()).body());
        List<String> ranked = new ArrayList<>();
        explained.path("ranked").forEach(node -> ranked.add(node.path("podId").asText()));
        assertThat(ranked).as("explain after the kill").hasSize(2).doesNotContain(finalDead);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(60));
    }

    /** Polls the router's stats until only the two survivors are live; records how long after the kill that was. */
    private static void watchUntilGone(long killedAt, AtomicLong goneAfterMillis) {
        long deadline = killedAt + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> stats = http.send(HttpRequest.newBuilder(URI.create(mesh.routerUrl() + "/router/stats"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                if (stats.statusCode() == 200 && JSON.readTree(stats.body()).path("livePods").asInt() == 2) {
                    goneAfterMillis.set(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt));
                    return;
                }
                Thread.sleep(100);
            } catch (IOException e) {
                // keep polling
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static Result classify(int index, long sentAt, boolean stream, HttpResponse<String> response, Throwable error) {
        if (error != null) {
            Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
            Outcome outcome = cause instanceof HttpTimeoutException || cause instanceof TimeoutException
                    ? Outcome.TIMEOUT : Outcome.CONNECTION_ERROR;
            return new Result(index, sentAt, stream, outcome, null, cause.toString());
        }
        String pod = response.headers().firstValue("x-kvmesh-pod").orElse(null);
        String body = response.body();
        String head = body.length() > 300 ? body.substring(0, 300) + "..." : body;
        if (response.statusCode() == 503) {
            try {
                JsonNode json = JSON.readTree(body);
                boolean openAi = json.path("error").path("message").isTextual();
                return new Result(index, sentAt, stream, openAi ? Outcome.UNAVAILABLE_503 : Outcome.OTHER_STATUS, pod, head);
            } catch (IOException e) {
                return new Result(index, sentAt, stream, Outcome.OTHER_STATUS, pod, "503 non-JSON: " + head);
            }
        }
        if (response.statusCode() != 200) {
            return new Result(index, sentAt, stream, Outcome.OTHER_STATUS, pod, response.statusCode() + " " + head);
        }
        if (stream) {
            List<String> events = body.lines().filter(line -> !line.isBlank()).toList();
            String last = events.isEmpty() ? "" : events.getLast();
            if (last.equals("data: [DONE]")) {
                return new Result(index, sentAt, true, Outcome.COMPLETE, pod, null);
            }
            if (last.startsWith("data: {\"error\"")) {
                return new Result(index, sentAt, true, Outcome.STREAM_ERROR_EVENT, pod, last);
            }
            return new Result(index, sentAt, true, Outcome.BROKEN_200, pod, "stream ended with: " + last);
        }
        try {
            JsonNode json = JSON.readTree(body);
            boolean complete = json.path("choices").path(0).path("text").isTextual() && json.path("usage").isObject();
            return new Result(index, sentAt, false, complete ? Outcome.COMPLETE : Outcome.BROKEN_200, pod, complete ? null : head);
        } catch (IOException e) {
            return new Result(index, sentAt, false, Outcome.BROKEN_200, pod, "not JSON: " + head);
        }
    }

    private static String snapshot(Map<String, LongAdder> servedBy) {
        return new TreeMap<>(servedBy).entrySet().stream().map(e -> e.getKey() + "=" + e.getValue().sum())
                .collect(Collectors.joining(",", "{", "}"));
    }
}
