package io.kvmesh.runtime.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kernels of {@code kvmesh.cu} against naive references, where no GPU is: {@code src/test/cuda-emulation/run.sh}
 * compiles the source as plain C++ against a small CUDA emulation (a block's threads are fibers meeting at
 * {@code __syncthreads} and warp shuffles) and runs every kernel with {@link CudaBackend}'s launch shapes, so their
 * indexing, synchronization and arithmetic are checked on every build. What it cannot check: the GPU's memory model
 * and timing (races the barrier-to-barrier interleaving does not hit), nvcc's own code generation, and performance.
 */
class CudaKernelsEmulationTest {

    private static final Path SCRIPT = Path.of("src/test/cuda-emulation/run.sh");

    @Test
    void everyKernelMatchesItsReferenceOnEmulatedThreads(@TempDir Path dir) throws Exception {
        assumeTrue(onPath("g++"), "g++ is not on PATH: the kernels cannot be compiled for the cpu emulation");
        Path log = dir.resolve("kernels_check.log");
        ProcessBuilder builder = new ProcessBuilder("bash", SCRIPT.toString())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().remove("KVMESH_CU");  // run.sh's override: here, always the shipped source
        Process process = builder.start();
        boolean finished = process.waitFor(300, TimeUnit.SECONDS);
        if (!finished) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly().waitFor();
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(finished).as("run.sh still running after 300 s:%n%s", output).isTrue();
        assertThat(process.exitValue()).as(output).isZero();
    }

    private static boolean onPath(String program) {
        return Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .filter(dir -> !dir.isEmpty())
                .map(dir -> Path.of(dir, program))
                .anyMatch(Files::isExecutable);
    }
}
