package io.kvmesh.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ./kvmesh bench router --quick} without a broker: the in-process lookup and ingest figures and the CSV. */
class RouterBenchmarkTest {

    @Test
    void quickInProcessRunProducesTheLookupAndIngestFigures(@TempDir Path dir) throws Exception {
        Path csv = dir.resolve("router.csv");
        List<RouterBenchmark.Figure> figures = RouterBenchmark.run(new String[] {
                "--quick", "--no-broker", "--blocks", "32768", "--pods", "8", "--lookups", "10000", "--csv", csv.toString()});

        assertThat(figures).extracting(RouterBenchmark.Figure::name).contains(
                "match p50", "match p99", "bytes per (pod, block) entry", "decode+apply from memory, 1 thread");
        assertThat(figures).allSatisfy(figure -> assertThat(figure.value()).isPositive());
        RouterBenchmark.Figure p99 = figures.stream().filter(f -> f.name().equals("match p99")).findFirst().orElseThrow();
        assertThat(p99.goal()).isEqualTo("<= 20.0 us");
        assertThat(p99.met()).isNotNull();
        RouterBenchmark.Figure ingest = figures.stream().filter(f -> f.name().startsWith("decode+apply")).findFirst().orElseThrow();
        assertThat(ingest.baselineValue()).isPositive();

        List<String> lines = Files.readAllLines(csv);
        assertThat(lines.getFirst()).isEqualTo("section,figure,value,unit,goal,status,baseline,baseline_value,note");
        assertThat(lines).hasSize(figures.size() + 1);
        assertThat(lines).anyMatch(line -> line.startsWith("1 index lookup,match p99,"));
    }
}
