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

    /** The same decision with {@code podId} moved to the front when it is a candidate (a group's follower). */
    public RoutingDecision preferring(String podId) {
        List<Candidate> reordered = new java.util.ArrayList<>(ranked);
        for (int i = 0; i < reordered.size(); i++) {
            if (reordered.get(i).podId().equals(podId)) {
                reordered.addFirst(reordered.remove(i));
                break;
            }
        }
        return new RoutingDecision(modelId, blockHashes, reordered, reason);
    }

    public boolean isEmpty() {
        return ranked.isEmpty();
    }
}
