package io.kvmesh.router.routing;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** Each request starts one pod further along the pods sorted by id, like a plain Kubernetes Service. */
public final class RoundRobinPolicy implements RoutingPolicy {

    private final AtomicLong next = new AtomicLong();

    @Override
    public Ranking rank(List<Candidate> candidates, int requestBlocks) {
        List<Candidate> ordered = new ArrayList<>(candidates);
        ordered.sort(Comparator.comparing(Candidate::podId));
        if (!ordered.isEmpty()) {
            Collections.rotate(ordered, -(int) (next.getAndIncrement() % ordered.size()));
        }
        return new Ranking(ordered, DecisionReason.ROTATION);
    }
}
