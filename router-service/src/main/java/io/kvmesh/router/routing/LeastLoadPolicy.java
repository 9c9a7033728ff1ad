package io.kvmesh.router.routing;

import java.util.Comparator;
import java.util.List;

/** Shortest queue first, then lowest KV usage, then pod id: load only, blind to the cache. */
public final class LeastLoadPolicy implements RoutingPolicy {

    static final Comparator<Candidate> BY_LOAD = Comparator.comparingInt(Candidate::queue)
            .thenComparingDouble(Candidate::kvUsage).thenComparing(Candidate::podId);

    @Override
    public Ranking rank(List<Candidate> candidates, int requestBlocks) {
        return new Ranking(byLoad(candidates), DecisionReason.LOAD);
    }

    static List<Candidate> byLoad(List<Candidate> candidates) {
        return candidates.stream().sorted(BY_LOAD).toList();
    }
}
