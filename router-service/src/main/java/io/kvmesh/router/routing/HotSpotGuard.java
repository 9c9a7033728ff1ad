package io.kvmesh.router.routing;

import java.util.List;

/**
 * Lets load win over the cache when following the cache would build a hot spot, after SGLang's cache-aware router:
 * <ol>
 * <li>load imbalance: when the pod the wrapped policy would pick has more than {@code balanceAbsThreshold} requests
 *     more than the least loaded candidate <em>and</em> more than {@code balanceRelThreshold} × its load, rank by
 *     least load ({@link DecisionReason#LOAD_IMBALANCE}): a popular prefix must not pile every request onto its one
 *     holder. SGLang compares the most loaded pod instead, so one hot pod sends every request to the least loaded,
 *     even those whose own prefix holder is not busy, and each of those computes its prefix again there;</li>
 * <li>no match: no candidate holds the first block, rank by least load ({@link DecisionReason#NO_MATCH});</li>
 * <li>short match: the best match covers less than {@code cacheThreshold} of the prompt's blocks, rank by least load
 *     ({@link DecisionReason#SHORT_MATCH}): a few shared blocks (a system prompt) are not worth queueing for;</li>
 * <li>otherwise the wrapped policy decides (its reason, {@link DecisionReason#PREFIX}).</li>
 * </ol>
 * Load is the pod's queue ({@link Candidate#queue}: running + waiting from its last heartbeat, or this router's open
 * requests there if more); least load breaks ties by KV usage, then pod id.
 */
public final class HotSpotGuard implements RoutingPolicy {

    /** The guard's thresholds; see the class comment and the router README for the defaults' reasons. */
    public record Thresholds(int balanceAbsThreshold, double balanceRelThreshold, double cacheThreshold) {

        public static final Thresholds DEFAULT = new Thresholds(24, 1.5, 0.3);

        public Thresholds {
            if (balanceAbsThreshold < 0 || balanceRelThreshold < 1 || cacheThreshold < 0 || cacheThreshold > 1) {
                throw new IllegalArgumentException("guard thresholds: balance-abs-threshold >= 0, balance-rel-threshold"
                        + " >= 1, 0 <= cache-threshold <= 1; got " + balanceAbsThreshold + ", " + balanceRelThreshold
                        + ", " + cacheThreshold);
            }
        }
    }

    private final Thresholds thresholds;
    private final RoutingPolicy cacheAware;

    public HotSpotGuard(Thresholds thresholds, RoutingPolicy cacheAware) {
        this.thresholds = thresholds;
        this.cacheAware = cacheAware;
    }

    @Override
    public Ranking rank(List<Candidate> candidates, int requestBlocks) {
        if (candidates.isEmpty()) {
            return cacheAware.rank(candidates, requestBlocks);
        }
        Ranking cached = cacheAware.rank(candidates, requestBlocks);
        DecisionReason reason = loadWins(candidates, cached.ranked().getFirst(), requestBlocks);
        return reason == null ? cached : new Ranking(LeastLoadPolicy.byLoad(candidates), reason);
    }

    /** The reason load wins over {@code choice} (the wrapped policy's pick), or null when the cache may decide. */
    private DecisionReason loadWins(List<Candidate> candidates, Candidate choice, int requestBlocks) {
        int min = candidates.stream().mapToInt(Candidate::queue).min().orElseThrow();
        if (choice.queue() - min > thresholds.balanceAbsThreshold() && choice.queue() > thresholds.balanceRelThreshold() * min) {
            return DecisionReason.LOAD_IMBALANCE;
        }
        int best = candidates.stream().mapToInt(c -> c.match().matchedBlocks()).max().orElseThrow();
        if (best == 0 || requestBlocks == 0) {
            return DecisionReason.NO_MATCH;
        }
        if ((double) best / requestBlocks < thresholds.cacheThreshold()) {
            return DecisionReason.SHORT_MATCH;
        }
        return null;
    }
}
