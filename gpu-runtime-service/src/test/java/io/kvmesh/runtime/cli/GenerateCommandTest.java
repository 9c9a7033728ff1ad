package io.kvmesh.runtime.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class GenerateCommandTest {

    private static final String FIXTURE = "../../shared/fixtures/llama-2-tiny-random.gguf";

    private static String[] run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = GenerateCommand.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new String[] {String.valueOf(exit), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void printsTheCompletionThenTheTokenIds() {
        // Greedy tokens of this prompt, also produced by the numpy reference (see LlamaForwardTest).
        String[] result = run("--model", FIXTURE, "--prompt", "Hello world, this is kvmesh", "--max-tokens", "8");
        assertThat(result[0]).isEqualTo("0");
        assertThat(result[1].lines().toList().getLast()).isEqualTo("tokens: 21264,13274,8110,13274,8110,13274,8110,19982");
    }

    @Test
    void sampledOutputRepeatsWithTheSameSeed() {
        String[] a = run("--model", FIXTURE, "--prompt", "seeded", "--max-tokens", "6", "--temperature", "1.0", "--seed", "5");
        String[] b = run("--model", FIXTURE, "--prompt", "seeded", "--max-tokens", "6", "--temperature", "1.0", "--seed", "5");
        assertThat(a[1]).isEqualTo(b[1]);
    }

    @Test
    void badArgumentsAreOneLine() {
        assertThat(run("--model", "pom.xml", "--prompt", "x")[2]).startsWith("kvmesh generate: GGUF at byte offset 0: not a GGUF file");
        assertThat(run("--model", FIXTURE, "--prompt", "x", "--max-tokens", "zero")[2]).startsWith("kvmesh generate: a number was expected");
        assertThat(run("--prompt", "x")[0]).isEqualTo("2");
    }
}
