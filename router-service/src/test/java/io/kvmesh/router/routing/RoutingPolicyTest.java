package io.kvmesh.router.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.kvmesh.prefix.events.BlockStored;
import io.kvmesh.prefix.events.BlockUsage;
import io.kvmesh.prefix.events.KvEventBatch;
import io.kvmesh.prefix.events.Medium;
import io.kvmesh.prefix.events.PodStatus;
import io.kvmesh.prefix.index.LivePods;
import io.kvmesh.prefix.index.PodMatch;
import io.kvmesh.prefix.index.PrefixIndex;

class RoutingPolicyTest {

    private static Candidate candidate(String pod, int device, int host, int queue, long usedBlocks) {
        PodStatus status = new PodStatus(pod, 1, "127.0.0.1:1", "m", 16, true, queue, 0, 0,
                new BlockUsage(usedBlocks, 100), new BlockUsage(0, 0), 0, 0, 0);
        return new Candidate(status, new PodMatch(pod, device + host, device, host));
    }

    private static List<String> ids(Ranking ranking) {
        return ids(ranking.ranked());
    }

    private static List<String> ids(RoutingDecision decision) {
        return ids(decision.ranked());
    }

    private static List<String> ids(List<Candidate> ranked) {
        return ranked.stream().map(Candidate::podId).toList();
    }

    @Test
    void prefixAwarePrefersTheLongestCachedPrefixUnlessLoadOutweighsIt() {
        PrefixAwarePolicy policy = new PrefixAwarePolicy(PrefixAwarePolicy.Weights.DEFAULT);
        // The class comment's worked example: A = 1 − 0.15 − 0.05 = 0.80, B = −0.01.
        Candidate a = candidate("a", 16, 0, 2, 50);
        Candidate b = candidate("b", 0, 0, 0, 10);
        Candidate loaded = candidate("c", 0, 0, 4, 10);
        assertThat(policy.score(a, 16, 4)).isCloseTo(0.80, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(ids(policy.rank(List.of(b, loaded, a), 16))).containsExactly("a", "b", "c");
        // Two blocks of sixteen are not worth a full queue.
        Candidate barely = candidate("d", 2, 0, 10, 10);
        assertThat(ids(policy.rank(List.of(barely, b), 16))).containsExactly("b", "d");
    }

    @Test
    void hostBlocksCountLessThanDeviceBlocks() {
        PrefixAwarePolicy policy = new PrefixAwarePolicy(PrefixAwarePolicy.Weights.DEFAULT);
        assertThat(ids(policy.rank(List.of(candidate("host", 0, 8, 0, 0), candidate("device", 8, 0, 0, 0)), 8)))
                .containsExactly("device", "host");
    }

    @Test
    void leastLoadIgnoresTheCache() {
        assertThat(ids(new LeastLoadPolicy().rank(List.of(candidate("warm", 16, 0, 3, 0), candidate("idle", 0, 0, 0, 0)), 16)))
                .containsExactly("idle", "warm");
    }

    @Test
    void roundRobinRotatesAndRandomCoversEveryPod() {
        RoundRobinPolicy roundRobin = new RoundRobinPolicy();
        List<Candidate> pods = List.of(candidate("b", 0, 0, 0, 0), candidate("a", 0, 0, 0, 0), candidate("c", 0, 0, 0, 0));
        assertThat(List.of(roundRobin.rank(pods, 1).ranked().getFirst().podId(), roundRobin.rank(pods, 1).ranked().getFirst().podId(),
                roundRobin.rank(pods, 1).ranked().getFirst().podId(), roundRobin.rank(pods, 1).ranked().getFirst().podId()))
                .containsExactly("a", "b", "c", "a");
        Set<String> firsts = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            firsts.add(new RandomPolicy().rank(pods, 1).ranked().getFirst().podId());
        }
        assertThat(firsts).containsExactlyInAnyOrder("a", "b", "c");
    }

    @Test
    void unknownPolicyNamesAreRejected() {
        assertThatThrownBy(() -> RoutingPolicy.named("fastest", PrefixAwarePolicy.Weights.DEFAULT, null))
                .hasMessageContaining("unknown routing policy \"fastest\"").hasMessageContaining("approximate-prefix");
    }

    @Test
    void selectorOffersOnlyReadyPodsOfTheModelAndTriesSuspectsLast() {
        PrefixIndex index = new PrefixIndex();
        LivePods pods = new LivePods(index, 10_000);
        for (String pod : List.of("a", "b", "other-model", "not-ready")) {
            pods.heartbeat(new PodStatus(pod, 1, "127.0.0.1:1", pod.equals("other-model") ? "x" : "m", 16,
                    !pod.equals("not-ready"), 0, 0, 0, new BlockUsage(0, 100), new BlockUsage(0, 0), 0, 0, 0), 0);
        }
        index.apply(new KvEventBatch("a", 1, 0, 0, List.of(new BlockStored(new long[] {7}, null, new int[16], 16, Medium.DEVICE))));
        PodSelector selector = new PodSelector(new IndexedPrefixes(index, new SpeculativeEntries(0, () -> 0)), pods, new PrefixAwarePolicy(PrefixAwarePolicy.Weights.DEFAULT));
        assertThat(ids(selector.select("m", new long[] {7}, Set.of()))).containsExactly("a", "b");
        assertThat(ids(selector.select("m", new long[] {7}, Set.of("a")))).containsExactly("b", "a");
        assertThat(selector.select("unknown", new long[] {7}, Set.of()).isEmpty()).isTrue();
        assertThat(selector.models()).containsExactly("m", "x");
    }
}
