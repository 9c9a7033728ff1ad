package io.kvmesh.operator.crd.v1alpha1;

import com.fasterxml.jackson.annotation.JsonValue;

/** The runtime's compute backend ({@code kvmesh.backend}). */
public enum ComputeBackend {
    /** cuda when the pod sees a GPU, cpu otherwise. */
    AUTO("auto"),
    /** Java Vector API on all cores. */
    CPU("cpu"),
    /** JCuda on an NVIDIA GPU. */
    CUDA("cuda"),
    /** No arithmetic: a cost model, for routing tests at scale. */
    SIM("sim");

    private final String value;

    ComputeBackend(String value) {
        this.value = value;
    }

    /** The name in YAML and in {@code kvmesh.backend}. */
    @JsonValue
    public String value() {
        return value;
    }
}
