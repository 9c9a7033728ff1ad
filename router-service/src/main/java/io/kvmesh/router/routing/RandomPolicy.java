package io.kvmesh.router.routing;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** A uniformly random order: the baseline every other policy must beat. */
public final class RandomPolicy implements RoutingPolicy {

    @Override
    public Ranking rank(List<Candidate> candidates, int requestBlocks) {
        List<Candidate> shuffled = new ArrayList<>(candidates);
        Collections.shuffle(shuffled, ThreadLocalRandom.current());
        return new Ranking(shuffled, DecisionReason.RANDOM);
    }
}
