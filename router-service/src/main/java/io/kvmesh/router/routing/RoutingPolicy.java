package io.kvmesh.router.routing;

import java.util.List;

/**
 * Orders the candidates for one request, best first; the router tries them in that order (the next one on failure).
 * {@code requestBlocks} is how many full blocks the request's prompt has.
 */
public interface RoutingPolicy {

    Ranking rank(List<Candidate> candidates, int requestBlocks);

    /** Policy names accepted in configuration. */
    List<String> NAMES = List.of("prefix-aware", "approximate-prefix", "least-load", "round-robin", "random");

    /**
     * The policy named in configuration. {@code prefix-aware} and {@code approximate-prefix} rank alike (the prefix
     * score behind the hot-spot guard); they differ in where the matches come from (see {@link PodSelector}).
     * {@code guard} null: no guard.
     */
    static RoutingPolicy named(String name, PrefixAwarePolicy.Weights weights, HotSpotGuard.Thresholds guard) {
        return switch (name) {
            case "prefix-aware", "approximate-prefix" -> guard == null ? new PrefixAwarePolicy(weights)
                    : new HotSpotGuard(guard, new PrefixAwarePolicy(weights));
            case "least-load" -> new LeastLoadPolicy();
            case "round-robin" -> new RoundRobinPolicy();
            case "random" -> new RandomPolicy();
            default -> throw new IllegalArgumentException("unknown routing policy \"" + name
                    + "\"; known: " + String.join(", ", NAMES));
        };
    }
}
