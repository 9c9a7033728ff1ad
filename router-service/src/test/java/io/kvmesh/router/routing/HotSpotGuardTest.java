package io.kvmesh.router.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.kvmesh.prefix.events.BlockUsage;
import io.kvmesh.prefix.events.PodStatus;
import io.kvmesh.prefix.index.PodMatch;

class HotSpotGuardTest {

    private final PrefixAwarePolicy prefixAware = new PrefixAwarePolicy(PrefixAwarePolicy.Weights.DEFAULT);
    // The rules with an absolute threshold of 8 (the default is 24): the examples stay small.
    private final HotSpotGuard guard = new HotSpotGuard(new HotSpotGuard.Thresholds(8, 1.5, 0.3), prefixAware);

    /** A pod with {@code device}+{@code host} matched blocks, {@code queue} requests and {@code usage} of 100 blocks used. */
    private static Candidate pod(String id, int device, int host, int queue, int usage) {
        PodStatus status = new PodStatus(id, 1, "127.0.0.1:1", "m", 16, true, queue, 0, 0,
                new BlockUsage(usage, 100), new BlockUsage(0, 0), 0, 0, 0);
        return new Candidate(status, new PodMatch(id, device + host, device, host));
    }

    @Test
    void theRoutersOwnOpenRequestsCountWhenTheHeartbeatIsStale() {
        // Both heartbeats say idle, but this router has just sent 12 requests to a: the guard must see them.
        PodStatus idle = pod("a", 20, 0, 0, 10).status();
        Candidate a = new Candidate(idle, new PodMatch("a", 20, 20, 0), 12);
        Candidate b = pod("b", 0, 0, 1, 10);
        assertThat(a.queue()).isEqualTo(12);
        assertThat(guard.rank(List.of(a, b), 32).reason()).isEqualTo(DecisionReason.LOAD_IMBALANCE);
        assertThat(new Candidate(idle, new PodMatch("a", 20, 20, 0), 0).queue()).isZero();
    }

    private static List<String> ids(Ranking ranking) {
        return ranking.ranked().stream().map(Candidate::podId).toList();
    }

    @Test
    void readmeWorkedExampleBalancedLoadAndALongMatchLetThePrefixDecide() {
        Candidate a = pod("a", 24, 4, 6, 60);
        Candidate b = pod("b", 8, 0, 2, 30);
        Candidate c = pod("c", 0, 0, 0, 10);
        assertThat(prefixAware.score(a, 32, 6)).isCloseTo(0.4525, offset(1e-9));
        assertThat(prefixAware.score(b, 32, 6)).isCloseTo(0.12, offset(1e-9));
        assertThat(prefixAware.score(c, 32, 6)).isCloseTo(-0.01, offset(1e-9));
        Ranking ranking = guard.rank(List.of(c, b, a), 32);
        assertThat(ids(ranking)).containsExactly("a", "b", "c");
        assertThat(ranking.reason()).isEqualTo(DecisionReason.PREFIX);
    }

    @Test
    void readmeWorkedExampleAHotSpotFlipsTheDecisionToLeastLoad() {
        // A burst piled onto a: its queue term is relative (at most 0.3), so the prefix score alone still picks it.
        Candidate a = pod("a", 24, 4, 12, 60);
        Candidate b = pod("b", 8, 0, 2, 30);
        Candidate c = pod("c", 0, 0, 0, 10);
        assertThat(ids(prefixAware.rank(List.of(a, b, c), 32))).containsExactly("a", "b", "c");
        Ranking ranking = guard.rank(List.of(a, b, c), 32);
        assertThat(ranking.reason()).isEqualTo(DecisionReason.LOAD_IMBALANCE);
        assertThat(ids(ranking)).containsExactly("c", "b", "a");
    }

    @Test
    void readmeWorkedExampleAShortMatchIsNotWorthAQueue() {
        // Only a shared 8-block system prompt of a 32-block request is cached on a.
        Candidate a = pod("a", 8, 0, 2, 50);
        Candidate b = pod("b", 0, 0, 1, 20);
        Candidate c = pod("c", 0, 0, 1, 20);
        assertThat(prefixAware.score(a, 32, 2)).isCloseTo(-0.10, offset(1e-9));
        assertThat(prefixAware.score(b, 32, 2)).isCloseTo(-0.17, offset(1e-9));
        assertThat(ids(prefixAware.rank(List.of(a, b, c), 32))).containsExactly("a", "b", "c");
        Ranking ranking = guard.rank(List.of(a, b, c), 32);
        assertThat(ranking.reason()).isEqualTo(DecisionReason.SHORT_MATCH);
        assertThat(ids(ranking)).containsExactly("b", "c", "a");
    }

    @Test
    void imbalanceNeedsMoreThanTheAbsoluteDifference() {
        Candidate warm = pod("warm", 16, 0, 8, 0);
        Candidate idle = pod("idle", 0, 0, 0, 0);
        assertThat(guard.rank(List.of(warm, idle), 16).reason()).isEqualTo(DecisionReason.PREFIX);
        Candidate warmer = pod("warm", 16, 0, 9, 0);
        Ranking ranking = guard.rank(List.of(warmer, idle), 16);
        assertThat(ranking.reason()).isEqualTo(DecisionReason.LOAD_IMBALANCE);
        assertThat(ids(ranking)).containsExactly("idle", "warm");
    }

    @Test
    void aHotPodElsewhereDoesNotDivertARequestWhosePrefixHolderIsNotBusy() {
        // hot holds another group and has 20 queued; warm holds this request's prefix with 2 queued; idle has none.
        Candidate hot = pod("hot", 0, 0, 20, 80);
        Candidate warm = pod("warm", 16, 0, 2, 40);
        Candidate idle = pod("idle", 0, 0, 0, 10);
        Ranking ranking = guard.rank(List.of(hot, warm, idle), 16);
        assertThat(ranking.reason()).as("SGLang's rule (most vs least loaded) would say load-imbalance").isEqualTo(DecisionReason.PREFIX);
        assertThat(ids(ranking).getFirst()).isEqualTo("warm");
        // The request whose prefix is on the hot pod is diverted.
        Ranking diverted = guard.rank(List.of(pod("hot", 16, 0, 20, 80), pod("warm", 0, 0, 2, 40), idle), 16);
        assertThat(diverted.reason()).isEqualTo(DecisionReason.LOAD_IMBALANCE);
        assertThat(ids(diverted)).containsExactly("idle", "warm", "hot");
    }

    @Test
    void imbalanceNeedsMoreThanTheRelativeRatioToo() {
        Candidate busy = pod("busy", 0, 0, 20, 0);
        // 30 − 20 > 8 but 30 is not more than 1.5 × 20: balanced enough, the cache decides.
        assertThat(guard.rank(List.of(pod("warm", 16, 0, 30, 0), busy), 16).reason()).isEqualTo(DecisionReason.PREFIX);
        Ranking ranking = guard.rank(List.of(pod("warm", 16, 0, 31, 0), busy), 16);
        assertThat(ranking.reason()).isEqualTo(DecisionReason.LOAD_IMBALANCE);
        assertThat(ids(ranking)).containsExactly("busy", "warm");
    }

    @Test
    void aMatchBelowTheCacheThresholdIsShort() {
        Candidate idle = pod("idle", 0, 0, 0, 0);
        // 3 of 10 blocks is exactly the threshold: enough.
        assertThat(guard.rank(List.of(pod("warm", 3, 0, 1, 0), idle), 10).reason()).isEqualTo(DecisionReason.PREFIX);
        assertThat(ids(guard.rank(List.of(pod("warm", 3, 0, 0, 0), idle), 10))).containsExactly("warm", "idle");
        // Host blocks count as matched for the threshold (they are cached), 2 of 10 is short.
        assertThat(guard.rank(List.of(pod("warm", 1, 2, 1, 0), idle), 10).reason()).isEqualTo(DecisionReason.PREFIX);
        Ranking ranking = guard.rank(List.of(pod("warm", 2, 0, 1, 0), idle), 10);
        assertThat(ranking.reason()).isEqualTo(DecisionReason.SHORT_MATCH);
        assertThat(ids(ranking)).containsExactly("idle", "warm");
    }

    @Test
    void noMatchOrNoFullBlockRanksByLoad() {
        Ranking ranking = guard.rank(List.of(pod("b", 0, 0, 3, 0), pod("a", 0, 0, 3, 10), pod("c", 0, 0, 1, 90)), 8);
        assertThat(ranking.reason()).isEqualTo(DecisionReason.NO_MATCH);
        assertThat(ids(ranking)).containsExactly("c", "b", "a");
        assertThat(guard.rank(List.of(pod("a", 0, 0, 0, 0)), 0).reason()).isEqualTo(DecisionReason.NO_MATCH);
        assertThat(guard.rank(List.of(), 4).ranked()).isEmpty();
        assertThat(prefixAware.rank(List.of(pod("a", 0, 0, 0, 0)), 4).reason()).isEqualTo(DecisionReason.NO_MATCH);
    }

    @Test
    void namedPoliciesCarryTheGuardUnlessItIsOff() {
        Candidate hot = pod("hot", 16, 0, 25, 0);
        Candidate idle = pod("idle", 0, 0, 0, 0);
        for (String name : List.of("prefix-aware", "approximate-prefix")) {
            assertThat(RoutingPolicy.named(name, PrefixAwarePolicy.Weights.DEFAULT, HotSpotGuard.Thresholds.DEFAULT)
                    .rank(List.of(hot, idle), 16).reason()).isEqualTo(DecisionReason.LOAD_IMBALANCE);
            assertThat(RoutingPolicy.named(name, PrefixAwarePolicy.Weights.DEFAULT, null)
                    .rank(List.of(hot, idle), 16).reason()).isEqualTo(DecisionReason.PREFIX);
        }
        assertThat(RoutingPolicy.named("least-load", PrefixAwarePolicy.Weights.DEFAULT, null).rank(List.of(hot), 16).reason())
                .isEqualTo(DecisionReason.LOAD);
    }

    @Test
    void thresholdsAreChecked() {
        assertThatThrownBy(() -> new HotSpotGuard.Thresholds(8, 0.5, 0.3)).hasMessageContaining("balance-rel-threshold");
        assertThatThrownBy(() -> new HotSpotGuard.Thresholds(8, 1.5, 1.3)).hasMessageContaining("cache-threshold");
    }
}
