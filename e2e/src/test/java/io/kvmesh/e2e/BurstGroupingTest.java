package io.kvmesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.kvmesh.e2e.local.LocalMesh;
import io.kvmesh.e2e.local.ServiceProcess;

/**
 * BatchLLM prefix groups on real processes: a burst of requests sharing a 256-token prefix, sent at once, through a
 * router that groups them (the leader computes the prefix, followers wait for its blocks and hit the cache) and
 * through a replica with grouping off (the burst, queued behind other work on the pod, is admitted together and each
 * request computes the prefix itself).
 */
class BurstGroupingTest {

    private static final int BURST = 8;
    /** 255 characters: with BOS, 16 full blocks of byte tokens. */
    private static final String PREFIX = "Shared system prompt of a burst: a long policy text every request of the batch repeats. "
            .repeat(3).substring(0, 255);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static LocalMesh mesh;

    @BeforeAll
    static void startMesh() {
        Path root = E2eRuns.root();
        mesh = LocalMesh.start(LocalMesh.Options.defaults(root)
                .withPods(1)
                .withRouterPort(0)
                .withRunDirectory(Path.of("target/e2e-runs/burst-grouping").toAbsolutePath())
                // The pod's own hold for prefixes in flight does for a burst inside one pod what groups do across the
                // router (EngineTest covers it); off here, so the ungrouped burst shows what grouping saves.
                .withSettings(Map.of("kvmesh.sim.prefill-micros-per-token", "1000", "kvmesh.sim.decode-step-micros", "2000",
                        "kvmesh.scheduler.prefix-hold-blocks", "0"))
                // A window wide enough for a burst sent from one test thread pool on a busy 2-core machine.
                .withRouterSettings(Map.of("kvmesh.groups.window", "300ms", "kvmesh.groups.max-wait", "10s")),
                line -> { });
    }

    @AfterAll
    static void stopMesh() {
        if (mesh != null) {
            mesh.close();
        }
    }

    /** Sends the burst at once; returns per request {cached tokens, latency ms}. */
    private static List<long[]> burst(String routerUrl, String prefix, String tag) throws Exception {
        // The pod is busy (a long unrelated prefill) when the burst arrives, as under load: the burst queues up and
        // would be admitted together.
        String blocker = "{\"model\":\"kvmesh-sim\",\"prompt\":\"" + (tag + " unrelated work ").repeat(120) + "\",\"max_tokens\":1}";
        CompletableFuture<HttpResponse<String>> busy = HTTP.sendAsync(HttpRequest.newBuilder(URI.create(routerUrl + "/v1/completions"))
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(blocker)).build(),
                HttpResponse.BodyHandlers.ofString());
        // Its ~2 s prefill has started (the pod says so) before the burst goes out.
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!podMetrics().contains("vllm:num_requests_running{model_name=\"kvmesh-sim\"} 1.0")) {
            assertThat(System.nanoTime()).as("the blocker never started: %s", podMetrics()).isLessThan(deadline);
            Thread.sleep(10);
        }
        List<CompletableFuture<long[]>> answers = new ArrayList<>();
        for (int i = 0; i < BURST; i++) {
            String body = "{\"model\":\"kvmesh-sim\",\"prompt\":\"" + prefix + " " + tag + " question " + i + "?\",\"max_tokens\":2}";
            HttpRequest request = HttpRequest.newBuilder(URI.create(routerUrl + "/v1/completions"))
                    .header("content-type", "application/json").timeout(Duration.ofSeconds(60))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build();
            long sent = System.nanoTime();
            answers.add(HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofString()).thenApply(response -> {
                assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
                try {
                    JsonNode json = JSON.readTree(response.body());
                    return new long[] {json.at("/usage/prompt_tokens_details/cached_tokens").asLong(),
                            (System.nanoTime() - sent) / 1_000_000};
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        List<long[]> results = new ArrayList<>();
        for (CompletableFuture<long[]> answer : answers) {
            results.add(answer.get());
        }
        assertThat(busy.get().statusCode()).isEqualTo(200);
        return results;
    }

    private static String podMetrics() {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create(mesh.runtimes().getFirst().url() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aGroupedBurstComputesTheSharedPrefixOnce() throws Exception {
        ServiceProcess ungrouped = mesh.startRouter("router-no-groups", "prefix-aware", Map.of("kvmesh.groups.window", "0s"));
        List<long[]> without = burst(ungrouped.url(), PREFIX, "A");
        // A different shared text (same length) for the second burst, so it finds nothing from the first cached.
        List<long[]> with = burst(mesh.routerUrl(), PREFIX.replace("Shared", "Common"), "B");
        long cachedWithout = without.stream().mapToLong(r -> r[0]).sum();
        long cachedWith = with.stream().mapToLong(r -> r[0]).sum();
        double meanWithout = without.stream().mapToLong(r -> r[1]).average().orElseThrow();
        double meanWith = with.stream().mapToLong(r -> r[1]).average().orElseThrow();
        long slowestWithout = without.stream().mapToLong(r -> r[1]).max().orElseThrow();
        long slowestWith = with.stream().mapToLong(r -> r[1]).max().orElseThrow();
        System.out.printf("burst of %d sharing 256 tokens: cached tokens %d grouped vs %d ungrouped; mean latency %.0f ms vs %.0f ms; "
                + "slowest %d ms vs %d ms%n", BURST, cachedWith, cachedWithout, meanWith, meanWithout, slowestWith, slowestWithout);
        // Grouped: every follower finds the 16 shared blocks cached (16 × 16 = 256 tokens minus the uncachable last).
        assertThat(cachedWith).isGreaterThanOrEqualTo((BURST - 1) * 240L);
        // Ungrouped: the burst is admitted together, so (nearly) every request computes the prefix itself.
        assertThat(cachedWithout).isLessThan(cachedWith / 2);
    }
}
