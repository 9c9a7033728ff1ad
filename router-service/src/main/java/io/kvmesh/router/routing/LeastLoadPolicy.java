package io.kvmesh.router.routing;

import java.util.Comparator;
import java.util.List;

/** Shortest queue first, then lowest KV usage, then pod id: load only, blind to the cache. */
public final class LeastLoadPolicy implements RoutingPolicy {

    @Override
    public List<Candidate> rank(List<Candidate> candidates, int requestBlocks) {
        return candidates.stream()
                .sorted(Comparator.comparingInt(Candidate::queue).thenComparingDouble(Candidate::kvUsage).thenComparing(Candidate::podId))
                .toList();
    }
}
