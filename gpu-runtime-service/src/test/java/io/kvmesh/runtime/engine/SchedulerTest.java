package io.kvmesh.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;

import io.kvmesh.prefix.blocks.BlockHasher;
import io.kvmesh.runtime.kv.BlockPool;
import io.kvmesh.runtime.kv.KvCacheManager;
import io.kvmesh.runtime.kv.KvEventSink;

/** Admission: resuming turns first-fit, and new requests only while they leave room for the running ones to grow. */
class SchedulerTest {

    private final KvCacheManager kv = new KvCacheManager(new BlockPool(20, 16, KvEventSink.NONE), new BlockHasher("scheduler", "", 16));
    private final Scheduler scheduler = new Scheduler(kv, 4096, 16);

    private static SequenceState request(String id, int from, int promptTokens, int maxTokens) {
        return new SequenceState(new GenerationRequest(id, IntStream.range(from, from + promptTokens).toArray(), maxTokens,
                new RecordingSink()));
    }

    private static List<String> ids(List<ScheduledChunk> chunks) {
        return chunks.stream().map(chunk -> chunk.sequence().id()).toList();
    }

    @Test
    void aNewRequestWaitsWhileItWouldTakeTheBlocksARunningSequenceIsAboutToGrowInto() {
        // Running: 1 block now, 256 tokens (16 blocks) to go; 0.7 of them are reserved: 12 blocks.
        scheduler.add(request("long", 1, 16, 256));
        assertThat(ids(scheduler.schedule())).containsExactly("long");
        // 19 blocks free; an 8-block prompt would leave 11 < 12.
        scheduler.add(request("new", 1000, 8 * 16, 4));
        assertThat(ids(scheduler.schedule())).doesNotContain("new");
        assertThat(scheduler.waitingCount()).isEqualTo(1);
    }

    @Test
    void aNewRequestThatLeavesTheReserveFreeIsAdmitted() {
        scheduler.add(request("long", 1, 16, 256));
        scheduler.schedule();
        // A 6-block prompt leaves 13 >= 12.
        scheduler.add(request("new", 1000, 6 * 16, 4));
        assertThat(ids(scheduler.schedule())).contains("new");
    }

    @Test
    void theReserveShrinksAsTheEstimateDecaysWithoutPreemptions() {
        scheduler.add(request("long", 1, 16, 256));
        scheduler.schedule();
        scheduler.add(request("new", 1000, 8 * 16, 4));
        int iterations = 0;
        while (scheduler.waitingCount() > 0 && iterations < 2 * Scheduler.NEW_TOKEN_RATIO_DECAY_STEPS) {
            scheduler.schedule();
            iterations++;
        }
        // Admitted once the ratio, 0.7 less (0.7 - 0.098) / 600 an iteration, reserves at most 11 of the 16 blocks
        // still to grow (ratio <= 0.6875): about 13 iterations.
        assertThat(scheduler.waitingCount()).isZero();
        assertThat(iterations).isBetween(10, 14);
    }

    @Test
    void aWaitingRequestWhosePrefixIsCachedGoesBeforeOlderOnesWhoseIsNot() {
        Scheduler lpm = new Scheduler(kv, 4096, 1).preferringCachedPrefixes(8);
        SequenceState warm = request("warm", 1, 4 * 16 + 8, 1);
        lpm.add(warm);
        assertThat(ids(lpm.schedule())).containsExactly("warm");
        kv.markComputed(warm.kv(), warm.tokenCount());
        lpm.finish(warm);
        // Two cold requests arrive first; the third continues the cached 4 blocks.
        lpm.add(request("cold-1", 5000, 5 * 16, 1));
        lpm.add(request("cold-2", 6000, 5 * 16, 1));
        lpm.add(request("cached", 1, 4 * 16 + 20, 1));
        assertThat(ids(lpm.schedule())).containsExactly("cached");
    }

    @Test
    void withoutTheScanTheQueueOrderStands() {
        Scheduler fifo = new Scheduler(kv, 4096, 1);
        SequenceState warm = request("warm", 1, 4 * 16 + 8, 1);
        fifo.add(warm);
        fifo.schedule();
        kv.markComputed(warm.kv(), warm.tokenCount());
        fifo.finish(warm);
        fifo.add(request("cold-1", 5000, 5 * 16, 1));
        fifo.add(request("cached", 1, 4 * 16 + 20, 1));
        assertThat(ids(fifo.schedule())).containsExactly("cold-1");
    }

    @Test
    void anIdlePoolAdmitsWhateverFits() {
        scheduler.add(request("big", 1, 19 * 16, 2000));
        assertThat(ids(scheduler.schedule())).containsExactly("big");
    }

    @Test
    void aResumingTurnThatDoesNotFitDoesNotHoldUpOnesBehindItThatDo() {
        scheduler.add(request("running", 1, 10 * 16, 1));
        scheduler.schedule();
        // 10 blocks free: a 12-block resume (its context back from the host) cannot fit, a 2-block one can.
        scheduler.addResumed(request("swapped", 5000, 12 * 16, 4));
        scheduler.addResumed(request("kept", 9000, 2 * 16, 4));
        scheduler.add(request("new", 20000, 16, 4));
        List<String> admitted = ids(scheduler.schedule());
        assertThat(admitted).contains("kept").doesNotContain("swapped", "new");
        assertThat(scheduler.liveWaitingCount()).as("the big resume still waits, ahead of new requests").isEqualTo(1);
    }

    @Test
    void whileOthersRunANewRequestDoesNotEvictThePrefixAnotherWaitingRequestWillReuse() {
        Scheduler keeping = new Scheduler(kv, 4096, 16).preferringCachedPrefixes(8).keepingQueuedPrefixes(true);
        SequenceState running = warmTwoPrefixesThenRun(keeping);
        // 16 free: A's 6 and B's 6 cached, 4 empty. a2 reuses A and needs 5 new blocks: the fifth would evict B's tail,
        // which b2, waiting behind it, reuses.
        SequenceState a2 = request("a2", 1, 6 * 16 + 70, 4);
        SequenceState b2 = request("b2", 1000, 6 * 16 + 70, 4);
        keeping.add(a2);
        keeping.add(b2);
        assertThat(ids(keeping.schedule())).doesNotContain("a2", "b2");
        assertThat(deviceCached(b2)).isEqualTo(6);
        // Once the running sequence frees its blocks, a2 fits without touching B's.
        keeping.finish(running);
        assertThat(ids(keeping.schedule())).contains("a2");
        assertThat(deviceCached(b2)).isEqualTo(6);
    }

    @Test
    void withoutKeepingQueuedPrefixesTheNewRequestEvictsThem() {
        Scheduler evicting = new Scheduler(kv, 4096, 16).preferringCachedPrefixes(8).keepingQueuedPrefixes(false);
        warmTwoPrefixesThenRun(evicting);
        SequenceState b2 = request("b2", 1000, 6 * 16 + 70, 4);
        evicting.add(request("a2", 1, 6 * 16 + 70, 4));
        evicting.add(b2);
        assertThat(ids(evicting.schedule())).contains("a2").doesNotContain("b2");
        assertThat(deviceCached(b2)).isEqualTo(5);
    }

    /** Caches two 6-block prefixes, A (tokens from 1) and B (from 1000), then runs a 4-block request; returns it. */
    private SequenceState warmTwoPrefixesThenRun(Scheduler on) {
        for (int from : new int[] {1, 1000}) {
            SequenceState warm = request("warm-" + from, from, 6 * 16 + 8, 1);
            on.add(warm);
            assertThat(ids(on.schedule())).containsExactly(warm.id());
            kv.markComputed(warm.kv(), warm.tokenCount());
            on.finish(warm);
        }
        SequenceState running = request("running", 5000, 4 * 16, 4);
        on.add(running);
        assertThat(ids(on.schedule())).containsExactly("running");
        return running;
    }

    private int deviceCached(SequenceState sequence) {
        int[] prompt = sequence.request.promptTokens();
        return kv.deviceCachedBlocks(prompt, kv.reusableBlockHashes(prompt, sequence.request.cacheSalt()));
    }

    @Test
    void whileOthersRunANewRequestLeavesAPrefixReusedMomentsAgoUntilItCools() {
        long[] now = {0};
        Scheduler protecting = new Scheduler(kv, 4096, 16).preferringCachedPrefixes(8).keepingQueuedPrefixes(true)
                .protectingReusedPrefixes(Duration.ofSeconds(2), 1).timedBy(() -> now[0]);
        computeAndReusePrefixA(protecting);
        SequenceState running = request("running", 5000, 4 * 16, 4);
        protecting.add(running);
        assertThat(ids(protecting.schedule())).containsExactly("running");
        SequenceState a3 = request("a3", 1, 6 * 16 + 8, 1);
        // 16 free, 6 of them A's; a 12-block prompt fits only by evicting two of A's blocks.
        now[0] = Duration.ofSeconds(1).toNanos();
        protecting.add(request("other", 9000, 12 * 16 - 8, 4));
        assertThat(ids(protecting.schedule())).doesNotContain("other");
        assertThat(deviceCached(a3)).isEqualTo(6);
        // Two seconds after A was last used, it is fair game.
        now[0] = Duration.ofMillis(2_100).toNanos();
        assertThat(ids(protecting.schedule())).contains("other");
        assertThat(deviceCached(a3)).isEqualTo(4);
    }

    @Test
    void withoutProtectionTheNewRequestEvictsAPrefixReusedMomentsAgo() {
        Scheduler plain = new Scheduler(kv, 4096, 16).preferringCachedPrefixes(8).keepingQueuedPrefixes(true);
        computeAndReusePrefixA(plain);
        plain.add(request("running", 5000, 4 * 16, 4));
        plain.schedule();
        plain.add(request("other", 9000, 12 * 16 - 8, 4));
        assertThat(ids(plain.schedule())).contains("other");
        assertThat(deviceCached(request("a3", 1, 6 * 16 + 8, 1))).isEqualTo(4);
    }

    /** Prefix A (6 blocks, tokens from 1) computed, then reused by a second request; both finished, nothing queued for A. */
    private void computeAndReusePrefixA(Scheduler on) {
        for (String id : new String[] {"a1", "a2"}) {
            SequenceState a = request(id, 1, 6 * 16 + 8, 1);
            on.add(a);
            assertThat(ids(on.schedule())).containsExactly(id);
            kv.markComputed(a.kv(), a.tokenCount());
            on.finish(a);
        }
    }
}
