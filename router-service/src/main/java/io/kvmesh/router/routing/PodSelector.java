package io.kvmesh.router.routing;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.kvmesh.prefix.events.PodStatus;
import io.kvmesh.prefix.index.LivePods;
import io.kvmesh.prefix.index.PodMatch;
import io.kvmesh.prefix.index.PrefixIndex;

/**
 * The router's decision: the ready live pods serving the request's model, each with its matched prefix from the index
 * replica, ordered by the {@link RoutingPolicy}, minus pods currently suspected of failing (kept last, not dropped,
 * so a request still has somewhere to go if every pod is suspect).
 */
public final class PodSelector {

    private final PrefixIndex index;
    private final LivePods pods;
    private final RoutingPolicy policy;

    public PodSelector(PrefixIndex index, LivePods pods, RoutingPolicy policy) {
        this.index = index;
        this.pods = pods;
        this.policy = policy;
    }

    /** Ranked candidates for a request of {@code blockHashes} to {@code modelId}; empty when no pod serves it. */
    public List<Candidate> select(String modelId, long[] blockHashes, Set<String> suspects) {
        Map<String, PodMatch> matches = new HashMap<>();
        for (PodMatch match : index.match(blockHashes)) {
            matches.put(match.podId(), match);
        }
        List<Candidate> candidates = pods.live().stream()
                .filter(PodStatus::ready)
                .filter(status -> status.modelId().equals(modelId))
                .map(status -> new Candidate(status, matches.getOrDefault(status.podId(), new PodMatch(status.podId(), 0, 0, 0))))
                .toList();
        List<Candidate> ranked = policy.rank(candidates, blockHashes.length);
        if (suspects.isEmpty()) {
            return ranked;
        }
        List<Candidate> healthyFirst = new java.util.ArrayList<>(ranked.stream().filter(c -> !suspects.contains(c.podId())).toList());
        healthyFirst.addAll(ranked.stream().filter(c -> suspects.contains(c.podId())).toList());
        return healthyFirst;
    }

    /** Model ids served by live pods. */
    public Set<String> models() {
        return new java.util.TreeSet<>(pods.live().stream().map(PodStatus::modelId).toList());
    }
}
