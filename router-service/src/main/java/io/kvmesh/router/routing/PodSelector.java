package io.kvmesh.router.routing;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import io.kvmesh.prefix.events.PodStatus;
import io.kvmesh.prefix.index.LivePods;
import io.kvmesh.prefix.index.PodMatch;

/**
 * The router's decision: the ready live pods serving the request's model, each with its matched prefix from the
 * {@link PrefixView}, ordered by the {@link RoutingPolicy}, minus pods currently suspected of failing (kept last, not
 * dropped, so a request still has somewhere to go if every pod is suspect). {@link #dispatched} tells the view where a
 * request went (speculative entries, or the approximate table's learning).
 */
public final class PodSelector {

    private final PrefixView prefixes;
    private final LivePods pods;
    private final RoutingPolicy policy;
    private final OpenRequests open;
    /** Null: queues as the heartbeats report them. */
    private final PodArrivals arrivals;

    public PodSelector(PrefixView prefixes, LivePods pods, RoutingPolicy policy) {
        this(prefixes, pods, policy, new OpenRequests(), null);
    }

    /** {@code arrivals}: pods' queues from their heartbeats and announcements since; null, from heartbeats alone. */
    public PodSelector(PrefixView prefixes, LivePods pods, RoutingPolicy policy, OpenRequests open, PodArrivals arrivals) {
        this.prefixes = prefixes;
        this.pods = pods;
        this.policy = policy;
        this.open = open;
        this.arrivals = arrivals;
    }

    /** The pod's queue as its heartbeat reports it, brought up to date with its announced arrivals when counted. */
    private int reportedQueue(PodStatus status) {
        return arrivals == null ? Candidate.heartbeatQueue(status) : arrivals.queue(status);
    }

    /** The decision for a request of {@code blockHashes} to {@code modelId}; empty when no pod serves it. */
    public RoutingDecision select(String modelId, long[] blockHashes, Set<String> suspects) {
        List<PodStatus> live = pods.live();
        Set<String> liveIds = live.stream().map(PodStatus::podId).collect(Collectors.toSet());
        prefixes.retainPods(liveIds);
        if (arrivals != null) {
            arrivals.retainPods(liveIds);
        }
        Map<String, PodMatch> matches = prefixes.match(blockHashes);
        List<Candidate> candidates = live.stream()
                .filter(PodStatus::ready)
                .filter(status -> status.modelId().equals(modelId))
                .map(status -> new Candidate(status, matches.getOrDefault(status.podId(), new PodMatch(status.podId(), 0, 0, 0)),
                        open.count(status.podId()), reportedQueue(status)))
                .toList();
        Ranking ranking = policy.rank(candidates, blockHashes.length);
        List<Candidate> ranked = ranking.ranked();
        if (!suspects.isEmpty()) {
            List<Candidate> healthyFirst = new ArrayList<>(ranked.stream().filter(c -> !suspects.contains(c.podId())).toList());
            healthyFirst.addAll(ranked.stream().filter(c -> suspects.contains(c.podId())).toList());
            ranked = healthyFirst;
        }
        return new RoutingDecision(modelId, blockHashes, ranked, ranking.reason());
    }

    /** The request of {@code decision} was sent to {@code podId}. */
    public void dispatched(RoutingDecision decision, String podId) {
        prefixes.routed(podId, decision.blockHashes());
    }

    /** Where pods' announced arrivals go; null when this selector reads queues from heartbeats alone. */
    public PodArrivals arrivals() {
        return arrivals;
    }

    /** This router's open requests per pod. */
    public OpenRequests open() {
        return open;
    }

    public PrefixView prefixes() {
        return prefixes;
    }

    /** Model ids served by live pods. */
    public Set<String> models() {
        return new TreeSet<>(pods.live().stream().map(PodStatus::modelId).toList());
    }
}
