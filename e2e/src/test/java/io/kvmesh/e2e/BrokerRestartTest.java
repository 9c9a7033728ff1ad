package io.kvmesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.kvmesh.e2e.local.LocalMesh;
import io.kvmesh.e2e.local.ServiceProcess;

/**
 * kill -9 the Kafka broker under a warm mesh, kill -9 a pod while it is down, then start the broker again on its data.
 * While it is down every request through the router ends within its timeout as a complete answer or a JSON 503 —
 * none hangs. Once it is back, the pods' buffered KV events and heartbeats reach the topics, and the router's
 * replica and the cache index converge on a fresh fold of the topics: the dead pod is gone from both and from every
 * ranking, the survivors keep the blocks they held before the outage (a direct request to a survivor proves it still
 * holds them), and what they computed during the outage is indexed too.
 */
class BrokerRestartTest {

    /** 319 characters: with BOS, 320 tokens = 20 full blocks. */
    private static final List<String> PREFIXES = List.of(
            prefix("You are the kvmesh outage assistant. Keep answers short and name the pod that served you. "),
            prefix("System: summarise the incident report below for the on-call engineer, in plain words only. "),
            prefix("Context: a catalogue of hiking trails with their lengths, climbs and the best walking season. "));
    private static final int PREFIX_BLOCKS = 20;
    private static final String DURING = prefix("Computed while the broker is down: these blocks reach the index only later. ");
    private static final String AFTER = prefix("Computed once the broker is back: the pods publish again, the index follows. ");
    private static final Duration OUTAGE = Duration.ofSeconds(10);
    private static final Duration KILL_POD_AFTER = Duration.ofSeconds(2);

    private static LocalMesh mesh;
    private static MeshProbe probe;

    private static String prefix(String sentence) {
        return sentence.repeat(5).substring(0, 319);
    }

    @BeforeAll
    static void startMesh() throws Exception {
        probe = MeshProbe.startMesh("broker-restart", Map.of("kvmesh.sim.prefill-micros-per-token", "20", "kvmesh.sim.decode-step-micros", "1000"));
        mesh = probe.mesh();
    }

    @AfterAll
    static void stopMesh() {
        if (probe != null) {
            probe.close();
        }
    }

    enum Outcome { COMPLETE, UNAVAILABLE_503, TIMEOUT, OTHER }

    record Attempt(String prompt, Outcome outcome, String pod, int cachedTokens, long millis, String detail) {
    }

    @Test
    void theMeshRidesOutABrokerCrashAndTheIndexConverges() throws Exception {
        long started = System.nanoTime();
        String router = mesh.routerUrl();
        for (int i = 0; i < PREFIXES.size(); i++) {
            assertThat(probe.complete(mesh.runtimes().get(i).url(), PREFIXES.get(i) + " warm-up, computed in full here.")
                    .cachedTokens()).isZero();
        }
        for (int i = 0; i < PREFIXES.size(); i++) {
            String holder = "runtime-" + (i + 1);
            String prompt = PREFIXES.get(i) + " probe";
            AtomicReference<Object> seen = new AtomicReference<>();
            MeshProbe.await("router and cache index see " + holder + " holding prefix " + i, Duration.ofSeconds(20), seen, () -> {
                Map<String, Integer> ranked = probe.explain(router, prompt);
                Map<String, Integer> indexed = probe.cacheIndexMatch(prompt);
                seen.set(ranked + " / " + indexed);
                return ranked.keySet().iterator().next().equals(holder) && ranked.get(holder) == PREFIX_BLOCKS * 1000
                        && indexed.equals(Map.of(holder, PREFIX_BLOCKS * 1000));
            });
        }

        // The outage: requests keep coming through the router, sequentially, each with a 20 s client timeout.
        ServiceProcess victim = mesh.runtimes().get(2);
        long brokerPid = mesh.broker().pid();
        mesh.broker().kill();
        assertThat(ProcessHandle.of(brokerPid).map(ProcessHandle::isAlive).orElse(false)).as("broker gone").isFalse();
        long outageStart = System.nanoTime();
        List<Attempt> attempts = new ArrayList<>();
        boolean podKilled = false;
        int n = 0;
        while (System.nanoTime() - outageStart < OUTAGE.toNanos()) {
            if (!podKilled && System.nanoTime() - outageStart > KILL_POD_AFTER.toNanos()) {
                victim.kill();
                podKilled = true;
            }
            String prompt = switch (n % 4) {
                case 3 -> DURING + " turn " + n;
                default -> PREFIXES.get(n % 4) + " during the outage, turn " + n;
            };
            attempts.add(attempt(router, prompt));
            n++;
            Thread.sleep(25); // pacing (~30 req/s at most), so the 2-core machine keeps room for the restart
        }
        assertThat(podKilled).isTrue();
        long restartAt = System.nanoTime();
        mesh.broker().restart();
        long brokerBack = System.nanoTime();
        Map<Outcome, Long> outcomes = new TreeMap<>(attempts.stream().collect(Collectors.groupingBy(Attempt::outcome, Collectors.counting())));
        System.out.printf("BrokerRestartTest: outage %.1f s, broker restart took %.1f s; %d requests during the outage: %s; slowest %d ms%n",
                (restartAt - outageStart) / 1e9, (brokerBack - restartAt) / 1e9, attempts.size(), outcomes,
                attempts.stream().mapToLong(Attempt::millis).max().orElse(0));
        attempts.stream().filter(a -> a.outcome() != Outcome.COMPLETE).limit(20).forEach(a -> System.out.println("  " + a));
        System.out.println("  served by " + new TreeMap<>(attempts.stream().filter(a -> a.pod() != null)
                .collect(Collectors.groupingBy(Attempt::pod, Collectors.counting()))));

        // The dead pod leaves the router's live set and rankings and the cache index; the survivors stay.
        List<String> prompts = new ArrayList<>();
        for (String prefix : PREFIXES) {
            prompts.add(prefix + " probe");
        }
        prompts.add(DURING + " probe");
        List<String> survivors = List.of("runtime-1", "runtime-2");
        AtomicReference<Object> seen = new AtomicReference<>();
        Duration deadGone = MeshProbe.await(victim.name() + " gone from the router and the cache index", Duration.ofSeconds(30), seen, () -> {
            JsonNode routerStats = probe.routerStats(router);
            JsonNode indexStats = probe.cacheIndexStats();
            Map<String, Object> state = new LinkedHashMap<>();
            state.put("router live", routerStats.path("livePods").asInt());
            state.put("cache index live/pods", indexStats.path("livePods").asInt() + "/" + indexStats.path("pods").asInt());
            boolean gone = routerStats.path("livePods").asInt() == 2 && indexStats.path("livePods").asInt() == 2
                    && indexStats.path("pods").asInt() == 2;
            for (String prompt : prompts) {
                Map<String, Integer> ranked = probe.explain(router, prompt);
                state.put(prompt.substring(0, 12), ranked);
                gone &= ranked.keySet().equals(java.util.Set.copyOf(survivors));
            }
            seen.set(state);
            return gone;
        });
        // The survivors' producers have delivered what they buffered once a heartbeat of theirs written after the
        // broker came back is on the topic: from then on the topics are complete, and a fresh fold is the reference.
        long brokerBackMillis = System.currentTimeMillis() - (System.nanoTime() - brokerBack) / 1_000_000;
        MeshProbe.await("the survivors publish heartbeats again", Duration.ofSeconds(20), seen, () -> {
            Map<String, Long> heard = probe.latestStatusTimes();
            seen.set(heard);
            return survivors.stream().allMatch(pod -> heard.getOrDefault(pod, 0L) > brokerBackMillis);
        });
        Duration converged;
        try (MeshProbe.FreshFold fold = probe.freshFold()) {
            converged = MeshProbe.await("router, cache index and fresh fold agree", Duration.ofSeconds(20), seen, () -> {
                JsonNode routerStats = probe.routerStats(router);
                JsonNode indexStats = probe.cacheIndexStats();
                MeshProbe.Size foldSize = fold.size();
                Map<String, Object> state = new LinkedHashMap<>();
                state.put("router", MeshProbe.Size.of(routerStats) + " live " + routerStats.path("livePods").asInt());
                state.put("cacheIndex", MeshProbe.Size.of(indexStats) + " live " + indexStats.path("livePods").asInt());
                state.put("fold", foldSize + " live " + fold.livePods());
                boolean agree = routerStats.path("livePods").asInt() == 2 && indexStats.path("livePods").asInt() == 2
                        && fold.livePods().equals(survivors)
                        && MeshProbe.Size.of(routerStats).equals(foldSize) && MeshProbe.Size.of(indexStats).equals(foldSize);
                for (String prompt : prompts) {
                    Map<String, Integer> ranked = probe.explain(router, prompt);
                    Map<String, Integer> matched = new TreeMap<>(ranked);
                    matched.values().removeIf(v -> v == 0);
                    Map<String, Integer> indexed = probe.cacheIndexMatch(prompt);
                    Map<String, Integer> folded = fold.match(prompt);
                    state.put(prompt.substring(0, 12), ranked + " / " + indexed + " / " + folded);
                    agree &= ranked.keySet().equals(java.util.Set.copyOf(survivors)) && matched.equals(folded) && indexed.equals(folded);
                }
                seen.set(state);
                return agree;
            });
            System.out.printf("BrokerRestartTest: %s gone %d ms after the broker was back; router, cache index and fold agree"
                    + " %d ms after the fold started: %s%n", victim.name(), deadGone.toMillis(), converged.toMillis(), seen.get());

            // The survivors kept what they held before the outage, and the index still says so.
            assertThat(fold.match(PREFIXES.get(0) + " probe")).as("prefix 0 after the outage").containsEntry("runtime-1", PREFIX_BLOCKS * 1000);
            assertThat(fold.match(PREFIXES.get(1) + " probe")).as("prefix 1 after the outage").containsEntry("runtime-2", PREFIX_BLOCKS * 1000);
            assertThat(fold.match(DURING + " probe")).as("blocks computed during the outage are indexed").isNotEmpty();
        }

        // Pods publish again: a prefix computed now reaches the router's index.
        MeshProbe.Served fresh = probe.complete(router, AFTER + " first");
        assertThat(fresh.pod()).isIn("runtime-1", "runtime-2");
        MeshProbe.await("the router indexes blocks computed after the outage", Duration.ofSeconds(15), () ->
                probe.explain(router, AFTER + " probe").getOrDefault(fresh.pod(), 0) == PREFIX_BLOCKS * 1000);
        // And the pods really hold what the index says: straight to each holder, the prefix is cached.
        for (int i = 0; i < 2; i++) {
            MeshProbe.Served direct = probe.complete(mesh.runtimes().get(i).url(), PREFIXES.get(i) + " probe");
            assertThat(direct.cachedTokens()).as("runtime-%d still holds prefix %d", i + 1, i).isEqualTo(PREFIX_BLOCKS * 16);
        }
        for (int i = 0; i < 2; i++) {
            MeshProbe.Served routed = probe.complete(router, PREFIXES.get(i) + " after the outage");
            assertThat(routed.pod()).as("prefix %d routed after the outage", i).isEqualTo("runtime-" + (i + 1));
            assertThat(routed.cachedTokens()).isGreaterThanOrEqualTo(PREFIX_BLOCKS * 16);
        }

        JsonNode finalStats = probe.routerStats(router);
        assertThat(finalStats.path("livePods").asInt()).as("router live pods at the end").isEqualTo(2);
        assertThat(probe.explain(router, PREFIXES.get(2) + " at the end")).as("ranking of the dead pod's prefix at the end")
                .doesNotContainKey(victim.name()).hasSize(2);
        assertThat(attempts).as("requests during the outage").isNotEmpty()
                .allSatisfy(a -> assertThat(a.outcome()).as("%s", a).isIn(Outcome.COMPLETE, Outcome.UNAVAILABLE_503));
        assertThat(mesh.router().isAlive()).isTrue();
        assertThat(mesh.cacheIndex().isAlive()).isTrue();
        System.out.printf("BrokerRestartTest: wall %.1f s%n", (System.nanoTime() - started) / 1e9);
    }

    private Attempt attempt(String router, String prompt) throws InterruptedException {
        long sent = System.nanoTime();
        try {
            HttpResponse<String> response = probe.post(router + "/v1/completions", MeshProbe.completion(prompt, 2));
            long millis = (System.nanoTime() - sent) / 1_000_000;
            String pod = response.headers().firstValue("x-kvmesh-pod").orElse(null);
            if (response.statusCode() == 200) {
                JsonNode json = MeshProbe.JSON.readTree(response.body());
                boolean complete = json.path("choices").path(0).path("text").isTextual();
                return new Attempt(prompt, complete ? Outcome.COMPLETE : Outcome.OTHER, pod,
                        json.path("usage").path("prompt_tokens_details").path("cached_tokens").asInt(), millis,
                        complete ? null : response.body());
            }
            if (response.statusCode() == 503 && MeshProbe.JSON.readTree(response.body()).path("error").path("message").isTextual()) {
                return new Attempt(prompt, Outcome.UNAVAILABLE_503, pod, 0, millis, response.body());
            }
            return new Attempt(prompt, Outcome.OTHER, pod, 0, millis, response.statusCode() + " " + response.body());
        } catch (HttpTimeoutException e) {
            return new Attempt(prompt, Outcome.TIMEOUT, null, 0, (System.nanoTime() - sent) / 1_000_000, e.toString());
        } catch (IOException e) {
            return new Attempt(prompt, Outcome.OTHER, null, 0, (System.nanoTime() - sent) / 1_000_000, e.toString());
        }
    }
}
