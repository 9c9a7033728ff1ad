package io.kvmesh.prefix.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class HashCommandTest {

    private record Result(int exit, String out, String err) {
    }

    private static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = HashCommand.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void printsOneLinePerFullBlock() {
        // Known answer: see BlockHasherTest.emptySaltOneBlock; the trailing 16..19 form a partial block.
        Result result = run("--model", "llama-3-8b", "--salt", "", "--block-size", "16", "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19");
        assertThat(result.exit()).isZero();
        assertThat(result.out()).isEqualTo("12f97814221eb941\n");
        assertThat(result.err()).isEmpty();
    }

    @Test
    void acceptsEqualsFormAndSeveralTokenArguments() {
        Result result = run("--model=llama-3-8b", "--block-size=16", "0,1,2,3,4,5,6,7", "8,9,10,11,12,13,14,15");
        assertThat(result.out()).isEqualTo("12f97814221eb941\n");
    }

    @Test
    void badArgumentsExitNonZeroWithOneLineReason() {
        assertOneLineError(run("--model", "m", "--block-size", "0", "1,2"), "block size must be between 1 and 4096 tokens, got 0");
        assertOneLineError(run("--model", "m", "--block-size", "-4", "1,2"), "got -4");
        assertOneLineError(run("--model", "m", "--block-size", "x", "1,2"), "--block-size must be a whole number");
        assertOneLineError(run("--model", "m", "1,-2"), "token id -2 is outside 0..4294967295");
        assertOneLineError(run("--model", "m", "1,4294967296"), "token id 4294967296 is outside 0..4294967295");
        assertOneLineError(run("--model", "m", "1,,2"), "empty token id");
        assertOneLineError(run("--model", "m", "1,two"), "token id \"two\" is not a whole number");
        assertOneLineError(run("1,2"), "--model is required");
        assertOneLineError(run("--model", "m"), "no token ids given");
        assertOneLineError(run("--model"), "--model needs a value");
        assertOneLineError(run("--model", "m", "--bogus", "1"), "unknown option --bogus");
    }

    private static void assertOneLineError(Result result, String reason) {
        assertThat(result.exit()).isEqualTo(2);
        assertThat(result.out()).isEmpty();
        assertThat(result.err()).startsWith("kvmesh hash: ").contains(reason).endsWith("\n");
        assertThat(result.err().strip()).doesNotContain("\n");
    }
}
