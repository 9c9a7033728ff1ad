package io.kvmesh.model.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class TokenizeCommandTest {

    private static final String FIXTURE = "../../shared/fixtures/llama-2-tiny-random.gguf";

    private static String[] run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = TokenizeCommand.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new String[] {String.valueOf(exit), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void printsCommaSeparatedIds() {
        assertThat(run("--model", FIXTURE, "Hello world")).containsExactly("0", "1,15043,3186\n", "");
        assertThat(run("--model", FIXTURE, "--no-bos", "Hello world")).containsExactly("0", "15043,3186\n", "");
    }

    @Test
    void badInputIsOneLineAndExit2() {
        assertThat(run("--model", "pom.xml", "x")[2]).startsWith("kvmesh tokenize: GGUF at byte offset 0: not a GGUF file");
        assertThat(run("--model", "missing.gguf", "x")[2]).isEqualTo("kvmesh tokenize: no such model file: missing.gguf\n");
        assertThat(run("Hello")[0]).isEqualTo("2");
    }
}
