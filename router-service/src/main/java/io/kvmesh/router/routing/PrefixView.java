package io.kvmesh.router.routing;

import java.util.Map;
import java.util.Set;

import io.kvmesh.prefix.index.PodMatch;

/**
 * Where the router believes each pod's cached prefixes are: from the pods' own KV events
 * ({@link IndexedPrefixes}, with speculative entries for decisions whose events have not arrived yet) or learned from
 * the router's own decisions alone ({@link LearnedPrefixes}, the approximate-prefix policy).
 */
public interface PrefixView {

    /** Per pod id, the consecutive blocks from the first of {@code blockHashes} it is believed to hold (pods with none left out). */
    Map<String, PodMatch> match(long[] blockHashes);

    /** A request of {@code blockHashes} was sent to {@code podId}: the pod will soon hold them. */
    void routed(String podId, long[] blockHashes);

    /**
     * {@code podId} queued a request that will store {@code blockHashes} (its {@code BlocksQueued} event): whichever
     * router sent it, the pod will soon hold them. Ignored by a view that learns only from its own decisions.
     */
    default void queued(String podId, long[] blockHashes) {
    }

    /** The index changed for these pods (their KV events were applied). */
    default void indexChanged(Set<String> podIds) {
    }

    /** Only these pods are live: state about any other may be dropped. */
    default void retainPods(Set<String> livePodIds) {
    }
}
