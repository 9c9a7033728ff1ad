package io.kvmesh.router.routing;

import java.util.Comparator;
import java.util.List;

/**
 * Longest cached prefix against load: {@code score = prefix × (device + hostWeight × host) / blocks − queue × q̂ −
 * kv × usage}, where {@code q̂} is the pod's queue over the largest queue among candidates (0 when all are idle).
 * Worked example with the defaults (prefix 1, host 0.5, queue 0.3, kv 0.1): a 16-block prompt, pod A holds all 16
 * on device with queue 2 of a maximum 4, usage 0.5: 1 − 0.15 − 0.05 = 0.80; pod B holds nothing, idle, usage 0.1:
 * −0.01. A wins. Ties go to the shorter queue, then the pod id, so equal inputs give equal answers on every replica.
 */
public final class PrefixAwarePolicy implements RoutingPolicy {

    /** The score's weights; see the class comment. */
    public record Weights(double prefix, double hostBlock, double queue, double kvUsage) {

        public static final Weights DEFAULT = new Weights(1.0, 0.5, 0.3, 0.1);
    }

    private final Weights weights;

    public PrefixAwarePolicy(Weights weights) {
        this.weights = weights;
    }

    @Override
    public Ranking rank(List<Candidate> candidates, int requestBlocks) {
        int maxQueue = candidates.stream().mapToInt(Candidate::queue).max().orElse(0);
        Comparator<Candidate> byScore = Comparator.comparingDouble(c -> -score(c, requestBlocks, maxQueue));
        List<Candidate> ranked = candidates.stream()
                .sorted(byScore.thenComparingInt(Candidate::queue).thenComparing(Candidate::podId))
                .toList();
        boolean anyMatch = candidates.stream().anyMatch(c -> c.match().matchedBlocks() > 0);
        return new Ranking(ranked, anyMatch ? DecisionReason.PREFIX : DecisionReason.NO_MATCH);
    }

    double score(Candidate candidate, int requestBlocks, int maxQueue) {
        double prefix = requestBlocks == 0 ? 0
                : (candidate.match().deviceBlocks() + weights.hostBlock() * candidate.match().hostBlocks()) / requestBlocks;
        double queue = maxQueue == 0 ? 0 : (double) candidate.queue() / maxQueue;
        return weights.prefix() * prefix - weights.queue() * queue - weights.kvUsage() * candidate.kvUsage();
    }
}
