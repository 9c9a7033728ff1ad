package io.kvmesh.router.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import io.kvmesh.prefix.events.BlockStored;
import io.kvmesh.prefix.events.BlockUsage;
import io.kvmesh.prefix.events.KvEventBatch;
import io.kvmesh.prefix.events.Medium;
import io.kvmesh.prefix.events.PodStatus;
import io.kvmesh.prefix.index.IndexStats;
import io.kvmesh.prefix.index.LivePods;
import io.kvmesh.prefix.index.PodMatch;
import io.kvmesh.prefix.index.PrefixIndex;

class SpeculativeEntriesTest {

    private final AtomicLong clock = new AtomicLong(1_000);
    private final SpeculativeEntries speculative = new SpeculativeEntries(2_000, clock::get);
    private final PrefixIndex index = new PrefixIndex();
    private final IndexedPrefixes prefixes = new IndexedPrefixes(index, speculative);
    private final long[] prompt = {11, 12, 13, 14};

    private void stored(String pod, long seq, long... hashes) {
        index.apply(new KvEventBatch(pod, 1, seq, 0, List.of(new BlockStored(hashes, null, new int[hashes.length * 16], 16, Medium.DEVICE))));
    }

    @Test
    void aRoutedPrefixCountsForItsPodUntilTheTtl() {
        prefixes.routed("a", prompt);
        assertThat(prefixes.match(prompt)).containsEntry("a", new PodMatch("a", 4, 4, 0)).hasSize(1);
        assertThat(prefixes.match(new long[] {11, 12, 99})).containsEntry("a", new PodMatch("a", 2, 2, 0));
        assertThat(prefixes.match(new long[] {12})).containsEntry("a", new PodMatch("a", 1, 1, 0));
        clock.addAndGet(1_999);
        assertThat(prefixes.match(prompt)).containsKey("a");
        clock.addAndGet(1);
        assertThat(prefixes.match(prompt)).isEmpty();
        assertThat(speculative.counts()).isEqualTo(new SpeculativeEntries.Counts(4, 0, 4, 0));
    }

    /**
     * Another router replica sent the request; the pod announced the prompt's blocks as it queued it. This replica now
     * matches the whole prompt on that pod (index plus the announced blocks past it, as speculative entries), until the
     * TTL, or the pod's {@code BlockStored} confirms the entries.
     */
    @Test
    void aPodsAnnouncedQueuedBlocksCountForItOnEveryReplica() {
        stored("a", 0, 11, 12);
        prefixes.queued("a", prompt);
        assertThat(prefixes.match(prompt)).containsEntry("a", new PodMatch("a", 4, 4, 0)).hasSize(1);
        stored("a", 1, 13, 14);
        prefixes.indexChanged(Set.of("a"));
        assertThat(speculative.counts()).isEqualTo(new SpeculativeEntries.Counts(2, 2, 0, 0));
        assertThat(prefixes.match(prompt)).containsEntry("a", new PodMatch("a", 4, 4, 0));

        // The approximate policy's table learns from its own decisions only: an announcement changes nothing there.
        LearnedPrefixes learned = new LearnedPrefixes(64);
        learned.queued("b", prompt);
        assertThat(learned.match(prompt)).isEmpty();
    }

    @Test
    void insertThenExpireLeavesNothingBehind() {
        IndexStats before = index.stats();
        prefixes.routed("a", prompt);
        prefixes.routed("b", new long[] {21, 22});
        clock.addAndGet(500);
        prefixes.routed("a", prompt);
        assertThat(speculative.counts()).isEqualTo(new SpeculativeEntries.Counts(6, 0, 0, 6));
        clock.addAndGet(1_600);
        // b's entries expired; a's were refreshed 500 ms later and are still there.
        assertThat(speculative.pods()).containsExactly("a");
        clock.addAndGet(1_000);
        assertThat(speculative.counts()).isEqualTo(new SpeculativeEntries.Counts(6, 0, 6, 0));
        assertThat(speculative.pods()).isEmpty();
        assertThat(speculative.queued()).isZero();
        assertThat(index.stats()).isEqualTo(before);
        assertThat(index.pods()).isEmpty();
    }

    @Test
    void thePodsOwnEventsConfirmEntriesIntoOrdinaryIndexEntries() {
        prefixes.routed("a", prompt);
        stored("a", 0, 11, 12);
        prefixes.indexChanged(Set.of("a"));
        assertThat(speculative.counts()).isEqualTo(new SpeculativeEntries.Counts(4, 2, 0, 2));
        // The index holds 11, 12; speculation still continues the match with 13, 14.
        assertThat(prefixes.match(prompt)).containsEntry("a", new PodMatch("a", 4, 4, 0));
        stored("a", 1, 13, 14);
        prefixes.indexChanged(Set.of("a"));
        assertThat(speculative.counts()).isEqualTo(new SpeculativeEntries.Counts(4, 4, 0, 0));
        clock.addAndGet(10_000);
        assertThat(prefixes.match(prompt)).containsEntry("a", new PodMatch("a", 4, 4, 0));
        assertThat(speculative.counts()).isEqualTo(new SpeculativeEntries.Counts(4, 4, 0, 0));
        assertThat(speculative.queued()).isZero();
    }

    @Test
    void onlyBlocksTheIndexDoesNotHoldForThePodAreSpeculated() {
        stored("a", 0, 11, 12);
        prefixes.routed("a", prompt);
        assertThat(speculative.counts().inserted()).isEqualTo(2);
        // Another pod's events confirm nothing of a's.
        stored("b", 0, 11, 12, 13, 14);
        prefixes.indexChanged(Set.of("b"));
        assertThat(speculative.counts().confirmed()).isZero();
    }

    @Test
    void siblingsFollowTheFirstRequestBeforeItsEventsArrive() {
        LivePods pods = new LivePods(index, 10_000);
        for (String pod : List.of("a", "b")) {
            pods.heartbeat(new PodStatus(pod, 1, "127.0.0.1:1", "m", 16, true, 0, 0, 0,
                    new BlockUsage(0, 100), new BlockUsage(0, 0), 0, 0, 0), 0);
        }
        RoutingPolicy policy = RoutingPolicy.named("prefix-aware", PrefixAwarePolicy.Weights.DEFAULT, HotSpotGuard.Thresholds.DEFAULT);
        PodSelector selector = new PodSelector(prefixes, pods, policy);
        RoutingDecision first = selector.select("m", prompt, Set.of());
        assertThat(first.reason()).isEqualTo(DecisionReason.NO_MATCH);
        // Least load ties break by id: a. Make b look better on load so only speculation can keep the sibling on a.
        pods.heartbeat(new PodStatus("a", 1, "127.0.0.1:1", "m", 16, true, 1, 0, 0,
                new BlockUsage(10, 100), new BlockUsage(0, 0), 0, 0, 0), 0);
        selector.dispatched(first, "a");
        RoutingDecision sibling = selector.select("m", new long[] {11, 12, 13, 99}, Set.of());
        assertThat(sibling.reason()).isEqualTo(DecisionReason.PREFIX);
        assertThat(sibling.ranked().getFirst().podId()).isEqualTo("a");
        assertThat(sibling.ranked().getFirst().match().matchedBlocks()).isEqualTo(3);
        clock.addAndGet(2_000);
        assertThat(selector.select("m", prompt, Set.of()).ranked().getFirst().podId()).isEqualTo("b");
    }

    @Test
    void aZeroTtlTurnsSpeculationOff() {
        SpeculativeEntries off = new SpeculativeEntries(0, clock::get);
        off.insert("a", prompt, 0);
        assertThat(off.pods()).isEmpty();
        assertThat(off.counts()).isEqualTo(new SpeculativeEntries.Counts(0, 0, 0, 0));
    }
}
