package io.kvmesh.router.routing;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import it.unimi.dsi.fastutil.longs.LongLinkedOpenHashSet;

import io.kvmesh.prefix.index.PodMatch;

/**
 * The approximate-prefix policy's table (llm-d's "approximate prefix cache" baseline): no KV events, only this
 * router's own decisions. Every request sent to a pod adds its block hashes to that pod's set; a request's match on a
 * pod is how many of its blocks, consecutively from the first, the set holds.
 *
 * <p>Memory is bounded: each pod keeps at most {@code blocksPerPod} hashes (about 40 bytes each), least recently
 * routed first out, and pods that are no longer live are dropped. A request's blocks are added last to first, so under
 * pressure a prompt loses its tail before its head (the head is what later requests share), as vLLM evicts chain tails
 * first. Blind to what pods really evict: it can only guess. Thread-safe.
 */
public final class LearnedPrefixes implements PrefixView {

    private final int blocksPerPod;
    private final Map<String, LongLinkedOpenHashSet> blocksByPod = new HashMap<>();

    public LearnedPrefixes(int blocksPerPod) {
        if (blocksPerPod < 1) {
            throw new IllegalArgumentException("blocks per pod must be at least 1, got " + blocksPerPod);
        }
        this.blocksPerPod = blocksPerPod;
    }

    @Override
    public synchronized Map<String, PodMatch> match(long[] blockHashes) {
        Map<String, PodMatch> matches = new HashMap<>();
        blocksByPod.forEach((podId, blocks) -> {
            int matched = 0;
            while (matched < blockHashes.length && blocks.contains(blockHashes[matched])) {
                matched++;
            }
            if (matched > 0) {
                matches.put(podId, new PodMatch(podId, matched, matched, 0));
            }
        });
        return matches;
    }

    @Override
    public synchronized void routed(String podId, long[] blockHashes) {
        LongLinkedOpenHashSet blocks = blocksByPod.computeIfAbsent(podId, id -> new LongLinkedOpenHashSet());
        for (int i = blockHashes.length - 1; i >= 0; i--) {
            blocks.addAndMoveToLast(blockHashes[i]);
        }
        while (blocks.size() > blocksPerPod) {
            blocks.removeFirstLong();
        }
    }

    @Override
    public synchronized void retainPods(Set<String> livePodIds) {
        blocksByPod.keySet().retainAll(livePodIds);
    }

    /** Hashes held for {@code podId}. */
    public synchronized int blocks(String podId) {
        LongLinkedOpenHashSet blocks = blocksByPod.get(podId);
        return blocks == null ? 0 : blocks.size();
    }

    /** Hashes held over all pods. */
    public synchronized long blocks() {
        return blocksByPod.values().stream().mapToLong(LongLinkedOpenHashSet::size).sum();
    }
}
