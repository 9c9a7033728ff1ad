package io.kvmesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.kvmesh.e2e.local.LocalMesh;
import io.kvmesh.e2e.local.ServiceProcess;
import io.kvmesh.prefix.events.PodIndexSnapshot;

/**
 * kill -9 the router of a warm mesh and start it again: the new process rebuilds its index replica from the
 * {@code kv-index} snapshots the cache index wrote (plus the {@code kv-events} tail), so the very first requests after
 * it reports ready go to the pods that hold their prefixes and find them cached. To show the snapshots carry the
 * state, {@code kv-events} is emptied before the restart (as its short retention would do): a router that could only
 * replay events would come back cold.
 */
class RouterRestartTest {

    /** 319 characters: with BOS, 320 tokens = 20 full blocks shared by every prompt that starts with it. */
    private static final List<String> PREFIXES = List.of(
            prefix("You are the kvmesh restart assistant. Keep answers short and name the pod that served you. "),
            prefix("System: summarise the incident report below for the on-call engineer, in plain words only. "),
            prefix("Context: a catalogue of hiking trails with their lengths, climbs and the best walking season. "));
    private static final int PREFIX_BLOCKS = 20;

    private static LocalMesh mesh;
    private static MeshProbe probe;

    private static String prefix(String sentence) {
        return sentence.repeat(4).substring(0, 319);
    }

    @BeforeAll
    static void startMesh() throws Exception {
        probe = MeshProbe.startMesh("router-restart", Map.of("kvmesh.sim.prefill-micros-per-token", "20", "kvmesh.sim.decode-step-micros", "1000"));
        mesh = probe.mesh();
    }

    @AfterAll
    static void stopMesh() {
        if (probe != null) {
            probe.close();
        }
    }

    private static String holderOf(int prefix) {
        return "runtime-" + (prefix + 1);
    }

    @Test
    void aKilledRouterComesBackWarmFromTheSnapshots() throws Exception {
        long started = System.nanoTime();
        ServiceProcess router = mesh.router();
        // Each prefix is computed on its own pod (sent there directly); the router learns the holders from Kafka.
        for (int i = 0; i < PREFIXES.size(); i++) {
            ServiceProcess pod = mesh.runtimes().get(i);
            assertThat(probe.complete(pod.url(), PREFIXES.get(i) + " warm-up: the first request of this prefix, computed in full.").cachedTokens()).isZero();
        }
        for (int i = 0; i < PREFIXES.size(); i++) {
            String prompt = PREFIXES.get(i) + " probe";
            String holder = holderOf(i);
            AtomicReference<Object> seen = new AtomicReference<>();
            MeshProbe.await("router ranks " + holder + " first for prefix " + i, Duration.ofSeconds(20), seen, () -> {
                Map<String, Integer> ranked = probe.explain(router.url(), prompt);
                seen.set(ranked);
                return ranked.keySet().iterator().next().equals(holder) && ranked.get(holder) == PREFIX_BLOCKS * 1000;
            });
        }
        for (int i = 0; i < PREFIXES.size(); i++) {
            for (int j = 0; j < 2; j++) {
                MeshProbe.Served served = probe.complete(router.url(), PREFIXES.get(i) + " question " + j + ": which trail, and how long is the walk?");
                assertThat(served.pod()).as("prefix %d before the restart", i).isEqualTo(holderOf(i));
                assertThat(served.cachedTokens()).as("prefix %d before the restart", i).isGreaterThanOrEqualTo(PREFIX_BLOCKS * 16);
            }
        }

        // Quiet now: wait until every pod's latest kv-index snapshot covers its last published batch.
        AtomicReference<Object> seen = new AtomicReference<>();
        MeshProbe.await("kv-index snapshots cover every pod's last KV event batch", Duration.ofSeconds(20), seen, () -> {
            Map<String, Long> published = probe.lastPublishedSeq();
            Map<String, PodIndexSnapshot> snapshots = probe.latestSnapshots();
            Map<String, Long> snapshotted = new LinkedHashMap<>();
            snapshots.forEach((pod, snapshot) -> snapshotted.put(pod, snapshot.lastSeq()));
            seen.set("published " + published + ", snapshots " + snapshotted);
            return published.size() == 3 && published.equals(snapshotted);
        });
        MeshProbe.Size before = MeshProbe.Size.of(probe.routerStats(router.url()));
        Map<Integer, Map<String, Integer>> rankingsBefore = new LinkedHashMap<>();
        for (int i = 0; i < PREFIXES.size(); i++) {
            rankingsBefore.put(i, probe.explain(router.url(), PREFIXES.get(i) + " probe"));
        }
        assertThat(before.pods()).isEqualTo(3);
        assertThat(before.deviceEntries()).isGreaterThanOrEqualTo(3L * PREFIX_BLOCKS);

        probe.truncateKvEvents();

        long pid = router.pid();
        router.kill();
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).as("router process gone").isFalse();
        long killed = System.nanoTime();
        mesh.restart(router);
        Duration downFor = Duration.ofNanos(System.nanoTime() - killed);

        // The first look after readiness, no waiting: the same index, the same rankings, warm routing.
        MeshProbe.Size after = MeshProbe.Size.of(probe.routerStats(router.url()));
        Map<Integer, Map<String, Integer>> rankingsAfter = new LinkedHashMap<>();
        for (int i = 0; i < PREFIXES.size(); i++) {
            rankingsAfter.put(i, probe.explain(router.url(), PREFIXES.get(i) + " probe"));
        }
        Map<Integer, MeshProbe.Served> firstRequests = new LinkedHashMap<>();
        for (int i = 0; i < PREFIXES.size(); i++) {
            firstRequests.put(i, probe.complete(router.url(), PREFIXES.get(i) + " after the restart: is this answer still served warm?"));
        }
        System.out.printf("RouterRestartTest: index before %s, after %s; rankings before %s, after %s; first requests %s;"
                        + " kill -> ready %d ms; wall %.1f s%n", before, after, rankingsBefore, rankingsAfter, firstRequests,
                downFor.toMillis(), (System.nanoTime() - started) / 1e9);

        assertThat(restoredSnapshots(router.log())).as("the new router's bootstrap (its log)").endsWith(3);
        assertThat(after).as("the new router's index equals the old one's").isEqualTo(before);
        assertThat(rankingsAfter).as("rankings after the restart").isEqualTo(rankingsBefore);
        for (int i = 0; i < PREFIXES.size(); i++) {
            assertThat(firstRequests.get(i).pod()).as("first request for prefix %d after the restart", i).isEqualTo(holderOf(i));
            assertThat(firstRequests.get(i).cachedTokens()).as("cached tokens of the first request for prefix %d", i)
                    .isGreaterThanOrEqualTo(PREFIX_BLOCKS * 16);
        }
        assertThat(mesh.runtimes()).allMatch(ServiceProcess::isAlive);
    }

    /** The snapshot counts of every "restored N pod snapshots" line in a service's log, oldest first. */
    private static List<Integer> restoredSnapshots(Path log) throws java.io.IOException {
        Matcher matcher = Pattern.compile("restored (\\d+) pod snapshots").matcher(Files.readString(log, StandardCharsets.UTF_8));
        List<Integer> counts = new java.util.ArrayList<>();
        while (matcher.find()) {
            counts.add(Integer.parseInt(matcher.group(1)));
        }
        return counts;
    }
}
