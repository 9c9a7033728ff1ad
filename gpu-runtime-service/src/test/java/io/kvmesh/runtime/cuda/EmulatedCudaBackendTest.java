package io.kvmesh.runtime.cuda;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import java.util.stream.Stream;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;

import io.kvmesh.model.gguf.GgmlType;
import io.kvmesh.runtime.model.LlamaModel;

/**
 * {@link CudaBackendChecks} on {@link EmulatedGpuDevice}: the whole backend — its uploads, staging, block tables,
 * decode/prefill split, launch arguments and swaps — against the cpu backend on every build, where no GPU is.
 */
@ExtendWith(EmulatedCudaBackendTest.NeedsGpp.class)
class EmulatedCudaBackendTest extends CudaBackendChecks {

    @Override
    CudaBackend backend(LlamaModel model, int blocks, int hostBlocks) {
        return new CudaBackend(model, blocks, hostBlocks, 16, EmulatedGpuDevice.open());
    }

    // Emulated threads cost about 10 ns a warp shuffle, and each logits row is a 100,352-row matmul: by default smaller
    // runs and two storage types (one 16-bit, one quantized; CudaKernelsEmulationTest checks every type's kernel);
    // -Dkvmesh.emulated.full=true runs the GPU profile (all five types, the 600-token prompt; ~5 min on 2 cores).
    private static final boolean FULL = Boolean.getBoolean("kvmesh.emulated.full");

    @Override
    int longPrompt() {
        return FULL ? super.longPrompt() : 300;
    }

    @Override
    int pagedPrompt() {
        return FULL ? super.pagedPrompt() : 100;
    }

    @Override
    Stream<GgmlType> tensorTypes() {
        return FULL ? super.tensorTypes() : Stream.of(GgmlType.F16, GgmlType.Q4_0);
    }

    /** The emulation is built with g++. */
    static final class NeedsGpp implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(org.junit.jupiter.api.extension.ExtensionContext context) {
            boolean found = Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                    .filter(dir -> !dir.isEmpty())
                    .anyMatch(dir -> Files.isExecutable(Path.of(dir, "g++")));
            return found ? ConditionEvaluationResult.enabled("g++ found")
                    : ConditionEvaluationResult.disabled("g++ is not on PATH: the emulated device cannot be built");
        }
    }
}
