package io.kvmesh.runtime.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The probe on whatever machine runs the tests: an answer, never an exception; without a GPU, a reason. */
class CudaProbeTest {

    @Test
    void theProbeAnswersOnceWithAReason() {
        CudaAvailability cuda = CudaProbe.availability();
        assertThat(cuda.reason()).isNotBlank();
        assertThat(CudaProbe.availability()).isSameAs(cuda);
        if (cuda.available()) {
            assertThat(cuda.computeMajor()).isGreaterThanOrEqualTo(CudaAvailability.MIN_COMPUTE_MAJOR);
            assertThat(cuda.device()).isNotBlank();
        } else {
            assertThat(cuda.reason()).containsAnyOf("no CUDA driver library (libcuda.so.1)", "no CUDA device",
                    "unsupported architecture", "cannot load the kernels", "the CUDA driver failed");
        }
    }

    @Test
    void withoutAUsableGpuTheBackendRefusesToStartNamingWhy() {
        CudaAvailability cuda = CudaProbe.availability();
        if (cuda.available()) {
            return;  // CudaBackendTest covers the other side
        }
        assertThatThrownBy(() -> new CudaBackend(null, 16, 0, 16))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("the cuda backend cannot run here: " + cuda.reason());
    }
}
