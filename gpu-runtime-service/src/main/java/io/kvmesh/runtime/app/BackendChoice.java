package io.kvmesh.runtime.app;

import java.util.function.Supplier;

import io.kvmesh.runtime.cuda.CudaAvailability;

/**
 * Which backend a pod runs, from {@code kvmesh.backend}: {@code sim}, {@code cpu}, {@code cuda} (refused with the
 * probe's reason where no usable device is), or {@code auto} — {@code cuda} where a usable device is, else {@code cpu}
 * with one line naming why (no driver library, no device, unsupported architecture, kernels the driver cannot load).
 * The probe is asked only for {@code cuda} and {@code auto}, so sim and cpu pods never touch JCuda.
 *
 * @param backend {@code sim}, {@code cpu} or {@code cuda}
 * @param note    the line to log about the choice, or null
 */
record BackendChoice(String backend, String note) {

    static BackendChoice resolve(String configured, Supplier<CudaAvailability> cuda) {
        return switch (configured) {
            case "sim", "cpu" -> new BackendChoice(configured, null);
            case "cuda" -> {
                CudaAvailability availability = cuda.get();
                if (!availability.available()) {
                    throw new IllegalArgumentException("kvmesh.backend=cuda cannot run here: " + availability.reason()
                            + " (auto falls back to cpu)");
                }
                yield new BackendChoice("cuda", "backend cuda on " + availability.reason());
            }
            case "auto" -> {
                CudaAvailability availability = cuda.get();
                yield availability.available()
                        ? new BackendChoice("cuda", "backend auto: cuda on " + availability.reason())
                        : new BackendChoice("cpu", "backend auto: cpu, because " + availability.reason());
            }
            default -> throw new IllegalArgumentException("kvmesh.backend=" + configured + " is not a backend; use sim, cpu, cuda or auto");
        };
    }
}
