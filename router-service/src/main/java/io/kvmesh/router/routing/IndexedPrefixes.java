package io.kvmesh.router.routing;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import io.kvmesh.prefix.index.PodMatch;
import io.kvmesh.prefix.index.PrefixIndex;

/**
 * The pods' prefixes as their KV events tell them (the router's index replica), extended by
 * {@link SpeculativeEntries} for this router's decisions and for the requests pods announce queued (whichever replica
 * sent them): a pod's match is its index match, continued by the consecutive blocks it holds
 * speculatively (counted as device blocks: a request just computed them there).
 */
public final class IndexedPrefixes implements PrefixView {

    private final PrefixIndex index;
    private final SpeculativeEntries speculative;

    public IndexedPrefixes(PrefixIndex index, SpeculativeEntries speculative) {
        this.index = index;
        this.speculative = speculative;
    }

    public SpeculativeEntries speculative() {
        return speculative;
    }

    @Override
    public Map<String, PodMatch> match(long[] blockHashes) {
        Map<String, PodMatch> matches = new HashMap<>();
        for (PodMatch match : index.match(blockHashes)) {
            matches.put(match.podId(), match);
        }
        for (String podId : speculative.pods()) {
            PodMatch known = matches.getOrDefault(podId, new PodMatch(podId, 0, 0, 0));
            int more = speculative.consecutive(podId, blockHashes, known.matchedBlocks());
            if (more > 0) {
                matches.put(podId, new PodMatch(podId, known.matchedBlocks() + more, known.deviceBlocks() + more, known.hostBlocks()));
            }
        }
        return matches;
    }

    /** Speculates only past what the index already holds for the pod: those blocks need no confirmation. */
    @Override
    public void routed(String podId, long[] blockHashes) {
        int known = index.match(blockHashes).stream().filter(m -> m.podId().equals(podId))
                .mapToInt(PodMatch::matchedBlocks).findFirst().orElse(0);
        speculative.insert(podId, blockHashes, known);
    }

    /** The pod's announcement covers requests other router replicas sent: their siblings here follow them too. */
    @Override
    public void queued(String podId, long[] blockHashes) {
        routed(podId, blockHashes);
    }

    @Override
    public void indexChanged(Set<String> podIds) {
        for (String podId : podIds) {
            speculative.confirm(podId, hash -> index.holds(podId, hash));
        }
    }
}
