package io.kvmesh.operator.crd.v1alpha1;

import com.fasterxml.jackson.annotation.JsonValue;

/** How a router picks the runtime pod for a request ({@code kvmesh.policy} of router-service). */
public enum RoutingPolicy {
    /** Longest cached prefix from the global block index, weighed against load, with the hot-spot guard. */
    PREFIX_AWARE("prefix-aware"),
    /** Prefix match against the router's own record of where it sent blocks, without KV events. */
    APPROXIMATE_PREFIX("approximate-prefix"),
    /** Shortest queue, then lowest KV usage. */
    LEAST_LOAD("least-load"),
    ROUND_ROBIN("round-robin"),
    RANDOM("random");

    private final String value;

    RoutingPolicy(String value) {
        this.value = value;
    }

    /** The name in YAML and in {@code kvmesh.policy}. */
    @JsonValue
    public String value() {
        return value;
    }
}
