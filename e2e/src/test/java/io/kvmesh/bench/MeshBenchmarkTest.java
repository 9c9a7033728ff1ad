package io.kvmesh.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kvmesh.e2e.E2eRuns;

/**
 * {@code ./kvmesh bench mesh --quick} on the real local mesh, two policies: every request answers, and prefix-aware
 * routing reuses more of the shared prefixes than round-robin and nearly what the oracle could (2 pods, a working set
 * of 75% of their KV: round-robin makes each pod hold 150% of its capacity, prefix-aware 75%).
 */
class MeshBenchmarkTest {

    @TempDir
    Path out;

    @Test
    void prefixAwareReusesWhatRoundRobinCannot() throws Exception {
        System.setProperty("io.kvmesh.root", E2eRuns.root().toString());
        MeshBenchmark.Result result = MeshBenchmark.run(new String[] {"--quick", "--policies", "prefix-aware,round-robin",
            "--csv", out.resolve("mesh.csv").toString(), "--png", out.resolve("mesh.png").toString()});

        assertThat(result.rows()).isNotEmpty().allSatisfy(row -> {
            assertThat(row.errors()).as("%s %s @%s: %s", row.workload(), row.policy(), row.offered(), row.firstError()).isZero();
            assertThat(row.completed()).isPositive();
        });
        MeshBenchmark.Row aware = row(result, "shared-prefix 75%", "prefix-aware", 12);
        MeshBenchmark.Row roundRobin = row(result, "shared-prefix 75%", "round-robin", 12);
        assertThat(aware.hit()).as("prefix-aware hit at 12 req/s").isGreaterThan(roundRobin.hit() + 0.1);
        assertThat(aware.oracleRatio()).as("prefix-aware hit / oracle").isGreaterThanOrEqualTo(0.9);
        // The router's prediction comes from the pods' own KV events: it should match what the pods reused.
        assertThat(aware.predictedHit()).isCloseTo(aware.hit(), org.assertj.core.data.Offset.offset(0.1));
        assertThat(result.goals()).extracting(MeshBenchmark.Goal::name).contains(
                "shared-prefix 75%: prefix-aware req/s / round-robin", "shared-prefix 75%: prefix-aware hit / oracle hit");
        // No placement completes more than the pods' capacity bound on the oracle's reuse.
        assertThat(result.capacityBounds()).containsKey("shared-prefix 75%");
        assertThat(result.rows()).filteredOn(row -> row.workload().equals("shared-prefix 75%"))
                .allSatisfy(row -> assertThat(row.requestsPerSecond()).isLessThan(result.capacityBounds().get("shared-prefix 75%")));
        List<String> csv = Files.readAllLines(out.resolve("mesh.csv"));
        assertThat(csv.getFirst()).startsWith("workload,policy,offered_rps");
        // The CSV names the configuration its figures belong to.
        assertThat(csv).contains("setting,value", "question_words,24", "output_tokens,16", "kvmesh.sim.prefill-micros-per-token,200")
                .anyMatch(line -> line.startsWith("capacity_bound_rps shared-prefix 75%,"));
        assertThat(Files.size(out.resolve("mesh.png"))).isPositive();
    }

    @Test
    void placementNamesEachPodsComputedTokensAndWhyAGroupWasComputedAgain() {
        MeshLoad.Step step = new MeshLoad.Step(java.util.List.of(
                outcome(1, 0, "pod-a", 1000, 0, "no-match"),
                outcome(1, 1, "pod-a", 1000, 900, "prefix"),
                outcome(1, 2, "pod-b", 1000, 0, "load-imbalance"),
                outcome(1, 3, "pod-a", 1000, 100, "prefix"),
                outcome(2, 4, "pod-b", 500, 400, "prefix")), 0, 0, 0);

        assertThat(MeshBenchmark.placement(step)).isEqualTo("placement: computed prompt tokens per pod [2000, 1100]"
                + " (busiest/mean 1.29); 1 of 2 groups on >1 pod; mostly computed: {evicted=1, new pod (load-imbalance)=1,"
                + " new pod (no-match)=1}");
    }

    private static MeshLoad.Outcome outcome(int group, long sent, String pod, int prompt, int cached, String reason) {
        return new MeshLoad.Outcome(group, sent, sent + 1, sent + 2, prompt, cached, cached, 1, pod, reason, "x", null);
    }

    private static MeshBenchmark.Row row(MeshBenchmark.Result result, String workload, String policy, double offered) {
        return result.rows().stream().filter(r -> r.workload().equals(workload) && r.policy().equals(policy) && r.offered() == offered)
                .findFirst().orElseThrow();
    }
}
