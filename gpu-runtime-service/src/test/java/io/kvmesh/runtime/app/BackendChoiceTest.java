package io.kvmesh.runtime.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.function.Supplier;

import org.junit.jupiter.api.Test;

import io.kvmesh.runtime.cuda.CudaAvailability;

class BackendChoiceTest {

    private static final Supplier<CudaAvailability> NOT_ASKED = () -> {
        throw new AssertionError("sim and cpu must not probe for CUDA");
    };
    private static final CudaAvailability NO_DRIVER =
            CudaAvailability.unavailable("no CUDA driver library (libcuda.so.1) could be loaded: libcuda.so.1: not found");
    private static final CudaAvailability H100 = CudaAvailability.of("NVIDIA H100 80GB HBM3", 9, 0);

    @Test
    void simAndCpuAreTakenAsConfiguredWithoutProbing() {
        assertThat(BackendChoice.resolve("sim", NOT_ASKED)).isEqualTo(new BackendChoice("sim", null));
        assertThat(BackendChoice.resolve("cpu", NOT_ASKED)).isEqualTo(new BackendChoice("cpu", null));
    }

    @Test
    void autoFallsBackToCpuWithOneLineNamingTheReason() {
        BackendChoice choice = BackendChoice.resolve("auto", () -> NO_DRIVER);
        assertThat(choice.backend()).isEqualTo("cpu");
        assertThat(choice.note()).isEqualTo("backend auto: cpu, because " + NO_DRIVER.reason());
        assertThat(BackendChoice.resolve("auto", () -> CudaAvailability.unavailable("no CUDA device (CUDA_ERROR_NO_DEVICE)")).note())
                .endsWith("no CUDA device (CUDA_ERROR_NO_DEVICE)");
    }

    @Test
    void autoTakesCudaWhereAUsableGpuIs() {
        BackendChoice choice = BackendChoice.resolve("auto", () -> H100);
        assertThat(choice.backend()).isEqualTo("cuda");
        assertThat(choice.note()).contains("NVIDIA H100 80GB HBM3 (compute capability 9.0)");
    }

    @Test
    void cudaWithoutAGpuIsRefusedWithTheReasonAndUnknownNamesAreRefused() {
        assertThatThrownBy(() -> BackendChoice.resolve("cuda", () -> NO_DRIVER))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("kvmesh.backend=cuda cannot run here: no CUDA driver library");
        assertThat(BackendChoice.resolve("cuda", () -> H100).backend()).isEqualTo("cuda");
        assertThatThrownBy(() -> BackendChoice.resolve("tpu", NOT_ASKED)).hasMessageContaining("sim, cpu, cuda or auto");
    }
}
