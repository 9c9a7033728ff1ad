package io.kvmesh.router.routing;

import java.util.List;

/**
 * Lets load win over the cache when following the cache would build a hot spot, after SGLang's cache-aware router:
 * <ol>
 * <li>load imbalance: when the most and least loaded candidates differ by more than {@code balanceAbsThreshold}
 *     requests <em>and</em> the most loaded has more than {@code balanceRelThreshold} × the least, rank by least load
 *     ({@link DecisionReason#LOAD_IMBALANCE}): a popular prefix must not pile every request onto its one holder;</li>
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

        public static final Thresholds DEFAULT = new Thresholds(8, 1.5, 0.3);

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
        DecisionReason reason = loadWins(candidates, requestBlocks);
        return reason == null ? cacheAware.rank(candidates, requestBlocks)
                : new Ranking(LeastLoadPolicy.byLoad(candidates), reason);
    }

    /** The reason load wins for these candidates, or null when the cache may decide. */
    DecisionReason loadWins(List<Candidate> candidates, int requestBlocks) {
        if (candidates.isEmpty()) {
            return null;
        }
        int max = candidates.stream().mapToInt(Candidate::queue).max().orElseThrow();
        int min = candidates.stream().mapToInt(Candidate::queue).min().orElseThrow();
        if (max - min > thresholds.balanceAbsThreshold() && max > thresholds.balanceRelThreshold() * min) {
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
