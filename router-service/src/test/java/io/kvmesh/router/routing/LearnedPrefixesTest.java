package io.kvmesh.router.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Set;
import java.util.stream.LongStream;

import org.junit.jupiter.api.Test;

import io.kvmesh.prefix.events.BlockUsage;
import io.kvmesh.prefix.events.PodStatus;
import io.kvmesh.prefix.index.LivePods;
import io.kvmesh.prefix.index.PodMatch;
import io.kvmesh.prefix.index.PrefixIndex;

class LearnedPrefixesTest {

    @Test
    void learnsFromRoutedRequestsAndMatchesConsecutivePrefixes() {
        LearnedPrefixes learned = new LearnedPrefixes(100);
        assertThat(learned.match(new long[] {1, 2, 3})).isEmpty();
        learned.routed("a", new long[] {1, 2, 3});
        learned.routed("b", new long[] {1, 9});
        assertThat(learned.match(new long[] {1, 2, 3, 4})).containsOnly(
                java.util.Map.entry("a", new PodMatch("a", 3, 3, 0)),
                java.util.Map.entry("b", new PodMatch("b", 1, 1, 0)));
        // Consecutive from the first block only (hashes are chained: a held later block without the first is no prefix).
        assertThat(learned.match(new long[] {5, 1, 2})).isEmpty();
        assertThat(learned.blocks()).isEqualTo(5);
    }

    @Test
    void eachPodKeepsAtMostItsCapDroppingTheLeastRecentlyRoutedAndTailsFirst() {
        LearnedPrefixes learned = new LearnedPrefixes(6);
        learned.routed("a", new long[] {1, 2, 3, 4});
        learned.routed("a", new long[] {10, 11, 12, 13});
        assertThat(learned.blocks("a")).isEqualTo(6);
        // The older prompt lost its tail (3, 4), not its head.
        assertThat(learned.match(new long[] {1, 2, 3, 4})).containsEntry("a", new PodMatch("a", 2, 2, 0));
        assertThat(learned.match(new long[] {10, 11, 12, 13})).containsEntry("a", new PodMatch("a", 4, 4, 0));
        // Routing the old prompt again makes it the most recent: now the other one loses its tail.
        learned.routed("a", new long[] {1, 2, 3, 4});
        assertThat(learned.match(new long[] {10, 11, 12, 13})).containsEntry("a", new PodMatch("a", 2, 2, 0));
        // Far more than the cap: still bounded, and the head of the last prompt survives.
        long[] huge = LongStream.range(1_000, 1_100).toArray();
        learned.routed("a", huge);
        assertThat(learned.blocks("a")).isEqualTo(6);
        assertThat(learned.match(huge)).containsEntry("a", new PodMatch("a", 6, 6, 0));
        assertThatThrownBy(() -> new LearnedPrefixes(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void podsThatAreNoLongerLiveAreForgotten() {
        LearnedPrefixes learned = new LearnedPrefixes(10);
        learned.routed("a", new long[] {1});
        learned.routed("b", new long[] {1});
        learned.retainPods(Set.of("b"));
        assertThat(learned.match(new long[] {1})).containsOnlyKeys("b");
        assertThat(learned.blocks()).isEqualTo(1);
    }

    @Test
    void approximatePrefixSendsSiblingsAfterTheFirstWithoutAnyKvEvent() {
        PrefixIndex index = new PrefixIndex();
        LivePods pods = new LivePods(index, 10_000);
        for (String pod : List.of("a", "b", "c")) {
            pods.heartbeat(new PodStatus(pod, 1, "127.0.0.1:1", "m", 16, true, 0, 0, 0,
                    new BlockUsage(0, 100), new BlockUsage(0, 0), 0, 0, 0), 0);
        }
        PodSelector selector = new PodSelector(new LearnedPrefixes(4096), pods,
                RoutingPolicy.named("approximate-prefix", PrefixAwarePolicy.Weights.DEFAULT, HotSpotGuard.Thresholds.DEFAULT));
        long[] first = {1, 2, 3, 4};
        RoutingDecision decision = selector.select("m", first, Set.of());
        assertThat(decision.reason()).isEqualTo(DecisionReason.NO_MATCH);
        assertThat(decision.ranked().getFirst().podId()).isEqualTo("a");
        // The learning happens on dispatch: send it to c (as if a and b had failed).
        selector.dispatched(decision, "c");
        RoutingDecision sibling = selector.select("m", new long[] {1, 2, 3, 7}, Set.of());
        assertThat(sibling.reason()).isEqualTo(DecisionReason.PREFIX);
        assertThat(sibling.ranked().getFirst().podId()).isEqualTo("c");
        assertThat(index.stats().deviceEntries()).isZero();
    }
}
