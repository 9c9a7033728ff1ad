package io.kvmesh.router.api;

import io.prometheus.metrics.core.metrics.Histogram;

/**
 * The time the router itself holds a request, apart from waiting for a pod (Envoy's "downstream minus upstream
 * service time"): from the whole request read to the request written to the pod (parse, template, tokenize, hash,
 * rank, take a pooled connection), plus from the pod's response head to the client's response head. Also the ranking
 * alone ({@code decision}), the CPU part. Classic buckets from 25 µs, fine below 1 ms where the router's goal sits.
 */
final class RouterOverhead {

    private static final double[] BUCKETS = {
            25e-6, 50e-6, 75e-6, 100e-6, 150e-6, 200e-6, 300e-6, 400e-6, 500e-6, 750e-6,
            1e-3, 1.5e-3, 2e-3, 3e-3, 5e-3, 7.5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1.0};

    final Histogram overhead = Histogram.builder().name("kvmesh_router_overhead_seconds")
            .help("Time the router holds a request, not counting the pod's: request read -> sent to the pod, plus the pod's response head -> the client's.")
            .classicUpperBounds(BUCKETS).classicOnly().build();

    final Histogram decision = Histogram.builder().name("kvmesh_router_decision_seconds")
            .help("Parsing, rendering, tokenizing, hashing and ranking one request.")
            .classicUpperBounds(BUCKETS).classicOnly().build();

    final Histogram dispatch = Histogram.builder().name("kvmesh_router_dispatch_seconds")
            .help("The request read -> written to the pod (deciding, taking a pooled connection, writing): the first part of the overhead.")
            .classicUpperBounds(BUCKETS).classicOnly().build();

    final Histogram relay = Histogram.builder().name("kvmesh_router_relay_seconds")
            .help("The pod's response head -> the client's: the second part of the overhead.")
            .classicUpperBounds(BUCKETS).classicOnly().build();

    void decided(long startNanos, long endNanos) {
        decision.observe((endNanos - startNanos) / 1e9);
    }

    void held(long dispatchNanos, long relayNanos) {
        dispatch.observe(dispatchNanos / 1e9);
        relay.observe(relayNanos / 1e9);
        overhead.observe((dispatchNanos + relayNanos) / 1e9);
    }
}
