package io.kvmesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.kvmesh.e2e.local.LocalMesh;
import io.kvmesh.e2e.local.ServiceProcess;
import io.kvmesh.prefix.events.PodIndexSnapshot;

/**
 * kill -9 the cache-index service in the middle of traffic, keep the traffic going while it is down, start it again:
 * it restores its own {@code kv-index} snapshots and tails {@code kv-events} from their offsets, and must end with
 * exactly the index a fresh fold of the topics gives (an {@code IndexFollower} in the test reading {@code kv-events} and
 * {@code pod-status} from offset 0, no snapshots): the same blocks with the same holders and tiers, the same counts,
 * and per pod the same epoch and last applied {@code seq} in the snapshots it writes: nothing missed (events produced
 * while it was down included), nothing applied twice. The pods have small KV caches, so the stream holds evictions
 * (removals) as well as stores.
 */
class CacheIndexRestartTest {

    private static final Duration EVERYONE_FOR = Duration.ofMillis(1000);
    private static final Duration BEFORE_KILL = Duration.ofMillis(4500);
    private static final Duration DOWN = Duration.ofSeconds(4);
    private static final Duration AFTER_RESTART = Duration.ofSeconds(2);
    private static final List<String> PREFIXES = List.of(
            "Tenant handbook: every answer cites the section it comes from, and nothing else. ",
            "Weather desk: forecast for the coastal stations, issued every six hours, plain text. ",
            "Code review bot: comment on the diff below, one remark per changed function please. ",
            "Travel planner: a three day itinerary with trains only, no flights and no hire cars. ");

    private static LocalMesh mesh;
    private static MeshProbe probe;

    @BeforeAll
    static void startMesh() throws Exception {
        // 48 blocks of 16 tokens: a few prompts fill a pod, so its stream holds evictions too.
        probe = MeshProbe.startMesh("cache-index-restart", Map.of("kvmesh.kv-blocks", "48",
                "kvmesh.sim.prefill-micros-per-token", "20", "kvmesh.sim.decode-step-micros", "1000"));
        mesh = probe.mesh();
    }

    @AfterAll
    static void stopMesh() {
        if (probe != null) {
            probe.close();
        }
    }

    /** Request {@code n}: one of the prefixes (repeated to ~250 tokens), then a tail of its own (~100 tokens). */
    private static String prompt(int n) {
        String prefix = PREFIXES.get(n % PREFIXES.size()).repeat(3);
        return prefix + "Request " + n + ": " + ("detail " + n + " ").repeat(10);
    }

    @Test
    void aRestartedCacheIndexEqualsAFreshFoldOfTheTopics() throws Exception {
        long started = System.nanoTime();
        ServiceProcess cacheIndex = mesh.cacheIndex();
        // At first through the router and to every pod; then only to runtime-1 and runtime-2. runtime-3's last snapshot
        // is then older than theirs, so the restarted service tails from its older offsets and reads again batches the
        // other pods' snapshots already hold: they must be recognised (by seq) and skipped, not applied twice.
        List<String> everyone = new ArrayList<>();
        everyone.add(mesh.routerUrl());
        mesh.runtimes().forEach(pod -> everyone.add(pod.url()));
        List<String> twoPods = List.of(mesh.runtimes().get(0).url(), mesh.runtimes().get(1).url());

        AtomicBoolean running = new AtomicBoolean(true);
        List<String> failures = Collections.synchronizedList(new ArrayList<>());
        int[] sent = new int[1];
        long trafficStart = System.nanoTime();
        CompletableFuture<Void> traffic = CompletableFuture.runAsync(() -> {
            for (int n = 0; running.get(); n++) {
                List<String> targets = System.nanoTime() - trafficStart < EVERYONE_FOR.toNanos() ? everyone : twoPods;
                String target = targets.get(n % targets.size());
                try {
                    probe.complete(target, prompt(n));
                } catch (AssertionError | Exception e) {
                    failures.add("request " + n + " to " + target + ": " + e);
                }
                sent[0] = n + 1;
                try {
                    Thread.sleep(30); // pacing: ~20 requests/s, stores and evictions on every pod
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        });

        Thread.sleep(BEFORE_KILL.toMillis());
        long pid = cacheIndex.pid();
        long eventsAtKill = probe.kvEventsEnd();
        cacheIndex.kill();
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).as("cache index gone").isFalse();
        Thread.sleep(DOWN.toMillis()); // traffic goes on: the pods keep publishing, nobody folds
        long eventsAtRestart = probe.kvEventsEnd();
        long restartAt = System.nanoTime();
        mesh.restart(cacheIndex);
        Duration restartTook = Duration.ofNanos(System.nanoTime() - restartAt);
        Thread.sleep(AFTER_RESTART.toMillis());
        running.set(false);
        traffic.get(60, TimeUnit.SECONDS);

        assertThat(failures).as("requests while the cache index was killed and restarted").isEmpty();
        assertThat(eventsAtRestart - eventsAtKill).as("KV event batches published while the cache index was down").isPositive();

        JsonNode stats;
        MeshProbe.Size foldSize;
        Map<Long, Map<String, Integer>> holders;
        AtomicReference<Object> seen = new AtomicReference<>();
        try (MeshProbe.FreshFold fold = probe.freshFold()) {
            Duration agreed = MeshProbe.await("the restarted cache index and the router equal the fresh fold", Duration.ofSeconds(20), seen, () -> {
                JsonNode now = probe.cacheIndexStats();
                MeshProbe.Size router = MeshProbe.Size.of(probe.routerStats(mesh.routerUrl()));
                seen.set("cache index " + MeshProbe.Size.of(now) + " lag " + now.path("lag").asLong() + ", router " + router
                        + ", fold " + fold.size() + " lag " + fold.follower().lag());
                // (lag counts heartbeats written since the last poll too, so it is rarely 0 for long: not a condition)
                return now.path("caughtUp").asBoolean() && MeshProbe.Size.of(now).equals(fold.size()) && router.equals(fold.size());
            });
            stats = probe.cacheIndexStats();
            foldSize = fold.size();
            holders = fold.holders();
            // Block by block: the same holders on the same tiers (the equal counts rule out any extra block or entry).
            Map<String, String> differences = new TreeMap<>();
            for (Map.Entry<Long, Map<String, Integer>> block : holders.entrySet()) {
                Map<String, Integer> indexed = probe.cacheIndexHolders(block.getKey());
                if (!indexed.equals(block.getValue())) {
                    differences.put(io.kvmesh.prefix.blocks.BlockHashFormat.format(block.getKey()), indexed + " vs fold " + block.getValue());
                }
            }
            assertThat(differences).as("blocks whose holders differ between the cache index and the fresh fold").isEmpty();
            // Per pod, what the restarted service writes to kv-index: the fold's epoch, last seq and blocks.
            MeshProbe.await("kv-index holds the fresh fold's state of every pod", Duration.ofSeconds(20), seen, () -> {
                Map<String, PodIndexSnapshot> latest = probe.latestSnapshots();
                Map<String, String> written = new TreeMap<>();
                Map<String, String> folded = new TreeMap<>();
                latest.forEach((pod, snapshot) -> written.put(pod, MeshProbe.describe(snapshot)));
                fold.index().pods().forEach(pod -> folded.put(pod, fold.podState(pod)));
                seen.set("kv-index " + written + " vs fold " + folded);
                return written.equals(folded);
            });
            System.out.printf("CacheIndexRestartTest: %d requests; %d KV event batches published while the cache index was down;"
                            + " restart to ready %d ms; agreed %d ms later: %s, %d blocks checked one by one; restarted service:"
                            + " duplicate batches %d (skipped by seq), seq gaps %d; kv-index %s; wall %.1f s%n",
                    sent[0], eventsAtRestart - eventsAtKill, restartTook.toMillis(), agreed.toMillis(), foldSize, holders.size(),
                    stats.path("duplicateBatches").asLong(), stats.path("seqGaps").asLong(), seen.get(),
                    (System.nanoTime() - started) / 1e9);
        }
        assertThat(foldSize.pods()).isEqualTo(3);
        assertThat(probe.kvEventKinds()).as("the stream holds evictions as well as stores").containsKeys("BlockStored", "BlockRemoved");
        assertThat(stats.path("seqGaps").asLong()).as("seq gaps seen by the restarted cache index").isZero();
        assertThat(stats.path("duplicateBatches").asLong()).as("batches read again after the restart, skipped by seq").isPositive();
        assertThat(stats.path("malformedRecords").asLong()).isZero();
        assertThat(stats.path("livePods").asInt()).isEqualTo(3);
        assertThat(stats.path("batchesApplied").asLong()).as("batches the restarted service applied").isPositive();
        assertThat(mesh.runtimes()).allMatch(ServiceProcess::isAlive);
        assertThat(mesh.router().isAlive()).isTrue();
    }
}
