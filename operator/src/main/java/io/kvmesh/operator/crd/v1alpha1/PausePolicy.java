package io.kvmesh.operator.crd.v1alpha1;

import com.fasterxml.jackson.annotation.JsonValue;

/** What the runtime does with a request's KV blocks while the request waits on a tool or API call. */
public enum PausePolicy {
    /** Blocks stay on the device (InferCept's preserve). */
    KEEP("keep"),
    /** Blocks go back to the prefix cache and are recomputed if evicted meanwhile (what vLLM does). */
    DISCARD("discard"),
    /** Blocks move to the host tier and back on resume. */
    SWAP("swap"),
    /** Per pause, the option with the least predicted memory waste; first come, first served. */
    INFERCEPT("infercept"),
    /** INFERCEPT's choice plus a waiting queue ordered by predicted memory × time. */
    LAMPS("lamps");

    private final String value;

    PausePolicy(String value) {
        this.value = value;
    }

    /** The name in YAML and in the runtime's configuration. */
    @JsonValue
    public String value() {
        return value;
    }
}
