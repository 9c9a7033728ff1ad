package io.kvmesh.router.routing;

import java.util.List;

/**
 * Orders the candidates for one request, best first; the router tries them in that order (the next one on failure).
 * {@code requestBlocks} is how many full blocks the request's prompt has.
 */
public interface RoutingPolicy {

    List<Candidate> rank(List<Candidate> candidates, int requestBlocks);

    /** The policy named in configuration: {@code prefix-aware}, {@code least-load}, {@code round-robin}, {@code random}. */
    static RoutingPolicy named(String name, PrefixAwarePolicy.Weights weights) {
        return switch (name) {
            case "prefix-aware" -> new PrefixAwarePolicy(weights);
            case "least-load" -> new LeastLoadPolicy();
            case "round-robin" -> new RoundRobinPolicy();
            case "random" -> new RandomPolicy();
            default -> throw new IllegalArgumentException("unknown routing policy \"" + name
                    + "\"; known: prefix-aware, least-load, round-robin, random");
        };
    }
}
