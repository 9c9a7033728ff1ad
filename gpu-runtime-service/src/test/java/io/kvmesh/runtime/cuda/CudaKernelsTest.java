package io.kvmesh.runtime.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checked-in kernel builds: complete, and identical to what {@code build-kernels.sh} makes of {@code kvmesh.cu} today. */
class CudaKernelsTest {

    private static final Path SOURCE = Path.of("src/main/cuda/kvmesh.cu");
    private static final Path SCRIPT = Path.of("src/main/cuda/build-kernels.sh");
    private static final String[] BUILT = {CudaKernels.FATBIN, CudaKernels.PTX, "kvmesh.nvcc-version"};

    @Test
    void everyKernelOfTheSourceIsInTheShippedBuilds() throws Exception {
        String source = Files.readString(SOURCE);
        Set<String> declared = names(source, Pattern.compile("extern \"C\" __global__ void (\\w+)\\("));
        // The attention entry points come from a macro, one pair per head-dimension bound.
        names(source, Pattern.compile("(?m)^ATTENTION_ENTRY_POINTS\\(\\d+, (\\d+)\\)")).forEach(bound -> {
            declared.add("attention_decode_" + bound);
            declared.add("attention_prefill_" + bound);
        });
        Set<String> inPtx = names(new String(CudaKernels.resource(CudaKernels.PTX), StandardCharsets.US_ASCII),
                Pattern.compile("\\.entry (\\w+)\\("));
        assertThat(declared).contains("matmul_q4_0", "attention_decode_64", "attention_prefill_256", "copy_blocks");
        assertThat(inPtx).isEqualTo(declared);
        String fatbin = new String(CudaKernels.fatbin(), StandardCharsets.ISO_8859_1);
        assertThat(declared).allSatisfy(name -> assertThat(fatbin).as("fatbin").contains(name));
    }

    @Test
    void theShippedBuildsAreWhatNvccMakesOfTheSourceToday(@TempDir Path out) throws Exception {
        Optional<Path> nvcc = nvcc();
        assumeTrue(nvcc.isPresent(), "nvcc is not installed here (PATH, /usr/local/cuda/bin): the builds cannot be checked");
        String shippedVersion = new String(CudaKernels.resource("kvmesh.nvcc-version"), StandardCharsets.UTF_8).strip();
        String version = run(nvcc.get().toString(), "--version").strip().lines().reduce((a, b) -> b).orElse("");
        assumeTrue(version.equals(shippedVersion), "the shipped kernels were built by nvcc \"" + shippedVersion
                + "\", this machine has \"" + version + "\": outputs are reproducible only with the same compiler");
        ProcessBuilder build = new ProcessBuilder("bash", SCRIPT.toString(), out.toString()).redirectErrorStream(true);
        build.environment().put("NVCC", nvcc.get().toString());
        Process process = build.start();
        String log = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(300, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(log).isZero();
        for (String name : BUILT) {
            assertThat(Files.readAllBytes(out.resolve(name)))
                    .as("%s is stale: run gpu-runtime-service/src/main/cuda/build-kernels.sh and commit its outputs", name)
                    .isEqualTo(CudaKernels.resource(name));
        }
    }

    private static Optional<Path> nvcc() {
        return Stream.concat(Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)).map(Path::of),
                        Stream.of(Path.of("/usr/local/cuda/bin")))
                .map(dir -> dir.resolve("nvcc"))
                .filter(Files::isExecutable)
                .findFirst();
    }

    private static String run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        process.waitFor(60, TimeUnit.SECONDS);
        return output;
    }

    private static Set<String> names(String text, Pattern pattern) {
        Matcher matcher = pattern.matcher(text);
        return matcher.results().map(m -> m.group(1)).collect(Collectors.toCollection(java.util.TreeSet::new));
    }
}
