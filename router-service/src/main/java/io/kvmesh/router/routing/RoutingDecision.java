package io.kvmesh.router.routing;

import java.util.List;

/**
 * The router's decision for one request: the prompt's block hashes, the candidates best first (suspects last) and why
 * the first is first. Empty when no ready pod serves the model.
 */
public record RoutingDecision(String modelId, long[] blockHashes, List<Candidate> ranked, DecisionReason reason) {

    public RoutingDecision {
        ranked = List.copyOf(ranked);
    }

    public boolean isEmpty() {
        return ranked.isEmpty();
    }
}
