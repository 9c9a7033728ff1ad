package io.kvmesh.runtime.cuda;

/**
 * Whether this process can run the cuda backend, and if not, why: no driver library, no device, an architecture
 * older than the shipped kernels, or a driver that cannot load them. Plain data, so the backend choice is testable
 * without a GPU.
 */
public record CudaAvailability(boolean available, String reason, String device, int computeMajor, int computeMinor) {

    /** The oldest compute capability the shipped kernels carry code for (sm_80, plus compute_80 PTX for newer chips). */
    public static final int MIN_COMPUTE_MAJOR = 8;

    public static CudaAvailability unavailable(String reason) {
        return new CudaAvailability(false, reason, null, 0, 0);
    }

    public static CudaAvailability of(String device, int major, int minor) {
        return new CudaAvailability(true, device + " (compute capability " + major + "." + minor + ")", device, major, minor);
    }
}
