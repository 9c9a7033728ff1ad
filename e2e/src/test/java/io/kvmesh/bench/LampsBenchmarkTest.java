package io.kvmesh.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./kvmesh bench lamps --quick --no-cpu}: the sim run under all five pause policies finishes every session
 * without an error, each policy's figures are sane and its pause decisions add up to the workload's calls, and the
 * CSV, the goals and the PNG come out.
 */
class LampsBenchmarkTest {

    private static final List<String> POLICIES = List.of("keep", "discard", "swap", "infercept", "lamps");

    @Test
    void quickSimRunCompletesEverySessionUnderEveryPolicy(@TempDir Path dir) throws Exception {
        Path csv = dir.resolve("lamps.csv");
        Path png = dir.resolve("lamps.png");
        List<LampsBenchmark.Figure> figures = LampsBenchmark.run(new String[] {
                "--quick", "--no-cpu", "--csv", csv.toString(), "--png", png.toString()});

        // The same sessions the benchmark generated (--quick: 100 sessions, seed 42).
        LampsWorkload workload = LampsWorkload.generate(100, 0.4, LampsWorkload.Shape.sim(LampsWorkload.Mix.INFERCEPT), 42);
        int calls = workload.calls();
        assertThat(calls).isGreaterThan(100);
        for (String policy : POLICIES) {
            assertThat(value(figures, policy, "errors")).as("%s: errors (see the figure's note)", policy).isZero();
            assertThat(value(figures, policy, "sessions completed")).as("%s: sessions completed", policy).isEqualTo(100);
            double mean = value(figures, policy, "session E2E mean");
            // Virtual time, uncompressed: a session's E2E includes its calls, so the mean cannot be below theirs.
            assertThat(mean).as("%s: mean E2E", policy).isPositive()
                    .isGreaterThanOrEqualTo(workload.sessions.stream().mapToDouble(LampsWorkload.Session::callSeconds)
                            .average().orElseThrow());
            assertThat(value(figures, policy, "session E2E p99")).as("%s: p99 E2E", policy).isGreaterThanOrEqualTo(mean);
            assertThat(value(figures, policy, "turn latency mean")).as(policy).isPositive();
            assertThat(value(figures, policy, "TTFT after resume mean")).as(policy).isPositive();
            assertThat(value(figures, policy, "output tokens/s")).as(policy).isPositive();
            assertThat(value(figures, policy, "device KV peak")).as(policy).isPositive().isLessThanOrEqualTo(100);
            double kept = value(figures, policy, "decisions keep");
            double swapped = value(figures, policy, "decisions swap");
            double discarded = value(figures, policy, "decisions discard");
            assertThat(kept + swapped + discarded).as("%s: one decision per call", policy).isEqualTo(calls);
            switch (policy) {
                case "keep" -> assertThat(kept).isEqualTo(calls);
                case "discard" -> assertThat(discarded).isEqualTo(calls);
                case "swap" -> assertThat(discarded).as("swap discards only when the host tier is full")
                        .isEqualTo(value(figures, policy, "host-full fallbacks"));
                default -> {
                }
            }
        }
        assertThat(value(figures, "swap", "blocks swapped out/in")).isPositive();
        assertThat(value(figures, "discard", "recomputed tokens")).isPositive();

        List<LampsBenchmark.Figure> goals = figures.stream().filter(f -> f.section().equals("goals")).toList();
        assertThat(goals).extracting(LampsBenchmark.Figure::name).containsExactly("mean E2E vs infercept", "mean E2E vs keep");
        for (LampsBenchmark.Figure goal : goals) {
            assertThat(goal.met()).isNotNull();
            assertThat(goal.baselineValue()).isPositive();
            double lamps = value(figures, "lamps", "session E2E mean");
            assertThat(goal.value()).isCloseTo(100 * (1 - lamps / goal.baselineValue()), org.assertj.core.data.Offset.offset(1e-6));
            assertThat(goal.met()).isEqualTo(goal.value() >= (goal.name().endsWith("keep") ? 40 : 27));
        }

        List<String> lines = Files.readAllLines(csv);
        assertThat(lines.getFirst()).isEqualTo("section,policy,figure,value,unit,goal,status,baseline,baseline_value,note");
        assertThat(lines).hasSize(figures.size() + 1);
        for (String policy : POLICIES) {
            assertThat(lines).anyMatch(line -> line.startsWith("sim," + policy + ",session E2E mean,"));
        }
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image).isNotNull();
        assertThat(image.getWidth()).isEqualTo(1100);
    }

    @Test
    void wallClockRunServesTheSessionsOnTheEngineThread(@TempDir Path dir) throws Exception {
        List<LampsBenchmark.Figure> figures = LampsBenchmark.run(new String[] {"--wall-clock", "--compress", "80",
                "--sessions", "20", "--no-cpu", "--policies", "infercept,lamps", "--csv", dir.resolve("lamps.csv").toString(),
                "--png", dir.resolve("lamps.png").toString()});
        LampsWorkload workload = LampsWorkload.generate(20, 0.4, LampsWorkload.Shape.sim(LampsWorkload.Mix.INFERCEPT), 42);
        for (String policy : List.of("infercept", "lamps")) {
            assertThat(value(figures, policy, "sessions completed")).as("%s: sessions completed", policy).isEqualTo(20);
            assertThat(value(figures, policy, "decisions keep") + value(figures, policy, "decisions swap")
                    + value(figures, policy, "decisions discard")).as(policy).isEqualTo(workload.calls());
            // Measured wall time of a run compressed 80x: E2E includes each session's calls, divided by 80.
            assertThat(value(figures, policy, "session E2E mean")).as(policy).isGreaterThanOrEqualTo(
                    workload.sessions.stream().mapToDouble(LampsWorkload.Session::callSeconds).average().orElseThrow() / 80);
        }
    }

    @Test
    void virtualTimeRunsOfTheSameWorkloadAreIdentical(@TempDir Path dir) throws Exception {
        String[] args = {"--sessions", "40", "--rate", "0.6", "--no-cpu", "--policies", "lamps",
            "--csv", dir.resolve("lamps.csv").toString(), "--png", dir.resolve("lamps.png").toString()};
        List<Double> first = LampsBenchmark.run(args).stream().filter(f -> f.section().equals("sim")).map(LampsBenchmark.Figure::value).toList();
        List<Double> second = LampsBenchmark.run(args).stream().filter(f -> f.section().equals("sim")).map(LampsBenchmark.Figure::value).toList();
        assertThat(first).hasSizeGreaterThan(20).isEqualTo(second);
    }

    private static double value(List<LampsBenchmark.Figure> figures, String policy, String name) {
        return figures.stream().filter(f -> f.section().equals("sim") && f.policy().equals(policy) && f.name().equals(name))
                .findFirst().orElseThrow(() -> new AssertionError("no figure " + name + " for " + policy)).value();
    }
}
