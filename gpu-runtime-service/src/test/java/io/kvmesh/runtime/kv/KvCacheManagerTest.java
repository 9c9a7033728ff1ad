package io.kvmesh.runtime.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;

import io.kvmesh.prefix.blocks.BlockHasher;
import io.kvmesh.prefix.events.BlockStored;
import io.kvmesh.prefix.events.BlocksQueued;
import io.kvmesh.prefix.events.KvEventBatch;
import io.kvmesh.prefix.events.Medium;
import io.kvmesh.prefix.index.PodMatch;
import io.kvmesh.prefix.index.PrefixIndex;

class KvCacheManagerTest {

    private static final int B = 16;
    private final BlockHasher hasher = new BlockHasher("sim-model", "", B);
    private final KvEventRecorder recorder = new KvEventRecorder("pod-a", 7, B);

    private KvCacheManager manager(int blocks) {
        return new KvCacheManager(new BlockPool(blocks, B, recorder), hasher);
    }

    private static int[] range(int from, int count) {
        return IntStream.range(from, from + count).toArray();
    }

    private static int[] concat(int[] a, int[] b) {
        return IntStream.concat(IntStream.of(a), IntStream.of(b)).toArray();
    }

    /** Runs the "forward pass" over the whole prompt, as the engine does after prefill. */
    private static void prefill(KvCacheManager kv, SequenceBlocks s) {
        kv.markComputed(s, s.tokenCount());
    }

    @Test
    void aSharedPrefixIsReusedAndCounted() {
        KvCacheManager kv = manager(64);
        int[] system = range(1000, 256);
        SequenceBlocks first = kv.admit("r1", concat(system, range(5000, 20)));
        assertThat(first.cachedPromptTokens()).isZero();
        prefill(kv, first);
        int[] firstBlocks = first.blocks();
        kv.release(first);
        assertThat(first.blockCount()).isZero();

        SequenceBlocks second = kv.admit("r2", concat(system, range(7000, 20)));
        assertThat(second.cachedPromptTokens()).isEqualTo(256);
        assertThat(second.computedTokens()).isEqualTo(256);
        assertThat(kv.queryTokens()).isEqualTo(276 * 2);
        assertThat(kv.hitTokens()).isEqualTo(256);
        assertThat(second.blocks()).startsWith(java.util.Arrays.copyOf(firstBlocks, 16));
    }

    /**
     * A submitted prompt announces its reusable full blocks under the hashes the pod stores them by once computed: a
     * router's speculative entries from the announcement are then confirmed by the {@code BlockStored}. The prompt's
     * last, partial block is not announced (it is never cached for reuse).
     */
    @Test
    void aSubmittedPromptAnnouncesTheBlocksItWillStore() {
        KvCacheManager kv = manager(64);
        int[] system = range(1000, 256);
        SequenceBlocks first = kv.admit("r1", concat(system, range(5000, 20)));
        prefill(kv, first);
        kv.release(first);
        recorder.drain(0);

        int[] prompt = concat(system, range(7000, 40)); // 296 tokens: 18 reusable full blocks, the first 16 cached
        long[] hashes = kv.announceQueued(prompt, "");
        assertThat(hashes).containsExactly(kv.reusableBlockHashes(prompt, ""));
        assertThat(hashes).hasSize(18);
        assertThat(recorder.drain(1).orElseThrow().events()).containsExactly(new BlocksQueued(hashes));

        SequenceBlocks second = kv.admit("r2", prompt);
        prefill(kv, second);
        List<Long> stored = new ArrayList<>();
        for (var event : recorder.drain(2).orElseThrow().events()) {
            if (event instanceof BlockStored blocks) {
                for (long hash : blocks.blockHashes()) {
                    stored.add(hash);
                }
            }
        }
        assertThat(stored).contains(hashes[16], hashes[17]);

        assertThat(kv.announceQueued(range(1, 16), "")).isEmpty();
        assertThat(recorder.drain(3)).isEmpty();
    }

    /** Different cache salts (tenants) never share a block; equal salts do, and so does no salt with no salt. */
    @Test
    void blocksToAdmitCountsWhatAdmissionWouldTakeFromTheFreeBlocks() {
        KvCacheManager kv = manager(64);
        int[] system = range(1000, 4 * B);
        int[] prompt = concat(system, range(5000, 20));
        assertThat(kv.blocksToAdmit(prompt, "")).as("cold: every block new").isEqualTo(6);
        SequenceBlocks first = kv.admit("r1", prompt);
        prefill(kv, first);
        int[] next = concat(system, range(7000, 20));
        assertThat(kv.blocksToAdmit(next, "")).as("4 cached blocks referenced by r1: only 2 new").isEqualTo(2);
        kv.release(first);
        assertThat(kv.blocksToAdmit(next, "")).as("cached but free blocks leave the free count too").isEqualTo(6);
        int free = kv.pool().freeBlocks();
        kv.admit("r2", next);
        assertThat(free - kv.pool().freeBlocks()).isEqualTo(6);
        assertThat(kv.blocksToAdmit(next, "other-tenant")).as("another salt shares nothing").isEqualTo(6);
    }

    @Test
    void requestsShareBlocksOnlyWithEqualCacheSalts() {
        KvCacheManager kv = manager(64);
        int[] prompt = range(0, 65);
        SequenceBlocks a = kv.admit("a", prompt, "tenant-a");
        prefill(kv, a);
        kv.release(a);
        assertThat(kv.admit("b", prompt, "tenant-b").cachedPromptTokens()).isZero();
        assertThat(kv.admit("plain", prompt).cachedPromptTokens()).isZero();
        SequenceBlocks again = kv.admit("a2", prompt, "tenant-a");
        assertThat(again.cachedPromptTokens()).isEqualTo(64);
        // The salted chain is the one a router computes for that tenant.
        io.kvmesh.prefix.blocks.BlockHasher tenantA = new io.kvmesh.prefix.blocks.BlockHasher("m", "tenant-a", 16);
        assertThat(tenantA.hashFullBlocks(prompt, 64)[0]).isNotEqualTo(new io.kvmesh.prefix.blocks.BlockHasher("m", "", 16).hashFullBlocks(prompt, 64)[0]);
    }

    @Test
    void blocksBeingComputedAreInFlightUntilWrittenOrReleased() {
        KvCacheManager kv = manager(64);
        int[] shared = range(0, 10 * B);
        SequenceBlocks first = kv.admit("first", concat(shared, range(5000, 3)));
        assertThat(kv.blocksInFlight(concat(shared, range(7000, 3)), "")).as("nothing written yet").isEqualTo(10);
        assertThat(kv.blocksInFlight(concat(shared, range(7000, 3)), "tenant-b")).as("another salt shares nothing").isZero();
        assertThat(kv.blocksInFlight(range(900, 200), "")).isZero();

        kv.markComputed(first, 4 * B + 3);
        assertThat(kv.blocksInFlight(concat(shared, range(7000, 3)), "")).as("4 cached, 6 still computing").isEqualTo(6);

        kv.markComputed(first, first.tokenCount());
        assertThat(kv.blocksInFlight(concat(shared, range(7000, 3)), "")).isZero();
        assertThat(kv.inFlightBlocks()).isZero();

        SequenceBlocks preempted = kv.admit("preempted", range(3000, 8 * B + 1));
        assertThat(kv.blocksInFlight(range(3000, 8 * B + 1), "")).isEqualTo(8);
        kv.release(preempted);
        assertThat(kv.blocksInFlight(range(3000, 8 * B + 1), "")).as("given up with the blocks").isZero();
        assertThat(kv.inFlightBlocks()).isZero();
    }

    @Test
    void theLastPromptTokenIsAlwaysComputed() {
        KvCacheManager kv = manager(16);
        int[] prompt = range(0, 64);
        SequenceBlocks first = kv.admit("r1", prompt);
        prefill(kv, first);
        kv.release(first);
        SequenceBlocks again = kv.admit("r2", prompt);
        assertThat(again.cachedPromptTokens()).as("3 of 4 blocks: the 64th token must be computed").isEqualTo(48);
    }

    @Test
    void concurrentSequencesShareCachedBlocksByReference() {
        KvCacheManager kv = manager(16);
        int[] prefix = range(0, 32);
        SequenceBlocks a = kv.admit("a", concat(prefix, range(100, 8)));
        prefill(kv, a);
        SequenceBlocks b = kv.admit("b", concat(prefix, range(200, 8)));
        assertThat(b.block(0)).isEqualTo(a.block(0));
        assertThat(b.block(1)).isEqualTo(a.block(1));
        assertThat(kv.pool().refCount(a.block(0))).isEqualTo(2);
        assertThat(kv.pool().usedBlocks()).isEqualTo(4);
    }

    @Test
    void admissionFailsCleanlyWhenBlocksRunOut() {
        KvCacheManager kv = manager(4);
        SequenceBlocks a = kv.admit("a", range(0, 48));
        assertThat(kv.admit("b", range(100, 32))).isNull();
        assertThat(kv.pool().usedBlocks()).isEqualTo(3);
        assertThat(kv.queryTokens()).isEqualTo(48);
        assertThat(a).isNotNull();
    }

    @Test
    void decodeAllocatesABlockWhenTheLastIsFullAndCachesGeneratedBlocks() {
        KvCacheManager kv = manager(3);
        SequenceBlocks s = kv.admit("s", range(0, 16));
        prefill(kv, s);
        assertThat(s.blockCount()).isEqualTo(1);
        for (int t = 0; t < 16; t++) {
            assertThat(kv.append(s, 900 + t)).isTrue();
            kv.markComputed(s, s.tokenCount());
        }
        assertThat(s.blockCount()).isEqualTo(2);
        assertThat(kv.pool().cachedBlocks()).isEqualTo(2);
        assertThat(kv.append(s, 999)).isTrue();
        assertThat(s.blockCount()).isEqualTo(3);
        kv.admit("hog", range(500, 1));
        assertThat(kv.pool().freeBlocks()).isZero();
        for (int t = 0; t < 15; t++) {
            kv.append(s, 1000 + t);
        }
        assertThat(kv.append(s, 2000)).as("no block left").isFalse();
        assertThat(s.tokenCount()).isEqualTo(48);
    }

    @Test
    void theIndexFedByThePoolsEventsHoldsExactlyThePoolsCachedBlocks() {
        KvCacheManager kv = manager(40);
        PrefixIndex index = new PrefixIndex();
        Random random = new Random(3);
        int[][] systems = {range(0, 64), range(10_000, 96), range(20_000, 32)};
        List<SequenceBlocks> live = new ArrayList<>();
        for (int step = 0; step < 2_000; step++) {
            int action = random.nextInt(10);
            if (action < 4) {
                int[] prompt = concat(systems[random.nextInt(systems.length)], range(random.nextInt(1 << 20), 1 + random.nextInt(40)));
                SequenceBlocks s = kv.admit("r" + step, prompt);
                if (s != null) {
                    prefill(kv, s);
                    live.add(s);
                }
            } else if (action < 8 && !live.isEmpty()) {
                SequenceBlocks s = live.get(random.nextInt(live.size()));
                if (kv.append(s, random.nextInt(32_000))) {
                    kv.markComputed(s, s.tokenCount());
                }
            } else if (!live.isEmpty()) {
                kv.release(live.remove(random.nextInt(live.size())));
            }
            if (step % 50 == 0) {
                recorder.drain(step).ifPresent(index::apply);
            }
        }
        recorder.drain(0).ifPresent(index::apply);

        long[] cached = kv.pool().cachedHashes();
        assertThat(cached).isNotEmpty();
        assertThat(kv.pool().evictions()).as("the run must exercise eviction").isPositive();
        assertThat(index.stats().deviceEntries()).isEqualTo(cached.length);
        for (long hash : cached) {
            assertThat(index.match(new long[] {hash})).containsExactly(new PodMatch("pod-a", 1, 1, 0));
        }
        // And a full prompt's chain as the router would hash it:
        SequenceBlocks probe = kv.admit("probe", concat(systems[0], range(3, 1)));
        long[] chain = hasher.hashFullBlocks(concat(systems[0], range(3, 1)));
        assertThat(index.match(chain).getFirst().matchedBlocks()).isEqualTo(probe.cachedPromptTokens() / B);
    }

    @Test
    void eventBatchesAreNumberedAndMergeAChainIntoOneStoredEvent() {
        KvCacheManager kv = manager(8);
        prefill(kv, kv.admit("s", range(0, 64)));
        KvEventBatch batch = recorder.drain(123).orElseThrow();
        assertThat(batch.seq()).isZero();
        assertThat(batch.epoch()).isEqualTo(7);
        assertThat(batch.events()).hasSize(1);
        var stored = (io.kvmesh.prefix.events.BlockStored) batch.events().getFirst();
        assertThat(stored.blockHashes()).containsExactly(hasher.hashFullBlocks(range(0, 64)));
        assertThat(stored.parentHash()).isNull();
        assertThat(stored.tokenIds()).containsExactly(range(0, 64));
        assertThat(recorder.drain(124)).isEmpty();
        prefill(kv, kv.admit("t", range(500, 16)));
        assertThat(recorder.drain(125).orElseThrow().seq()).isEqualTo(1);
    }

    /**
     * Swap-out copies a paused sequence's full blocks into the host tier (events say HOST); after the device copies
     * are evicted, admitting the continued conversation finds them there: they get device blocks and are planned as
     * host → device copies instead of recomputation, and the index sees the blocks on both tiers.
     */
    @Test
    void aSwappedOutPrefixComesBackFromTheHostTierInsteadOfBeingRecomputed() {
        KvCacheManager kv = new KvCacheManager(new BlockPool(8, B, recorder), new BlockPool(8, B, recorder, Medium.HOST), hasher);
        int[] context = range(1, 4 * B + 5);
        SequenceBlocks paused = kv.admit("turn-1", context);
        prefill(kv, paused);
        int[] deviceBlocks = java.util.Arrays.copyOf(paused.blocks(), 4);
        KvCacheManager.SwapOut out = kv.swapOut(paused);
        assertThat(out.copies().from()).containsExactly(deviceBlocks);
        assertThat(out.copies().to()).containsExactly(out.hostBlocks());
        assertThat(kv.host().usedBlocks()).as("pinned for the paused session").isEqualTo(4);
        kv.release(paused);

        SequenceBlocks other = kv.admit("other", range(50_000, 8 * B - 1));
        prefill(kv, other);
        kv.release(other);
        assertThat(kv.pool().lookup(hasher.hashFullBlocks(context)[0], context, 0)).as("evicted from the device").isNegative();
        PrefixIndex index = new PrefixIndex();
        recorder.drain(1).ifPresent(index::apply);
        long[] hashes = hasher.hashFullBlocks(context);
        assertThat(index.match(hashes)).as("only in host memory now").containsExactly(new PodMatch("pod-a", 4, 0, 4));

        kv.unpinHost(out.hostBlocks());
        long hitsBefore = kv.hitTokens();
        SequenceBlocks resumed = kv.admit("turn-2", concat(context, range(900, 10)));
        assertThat(resumed.cachedPromptTokens()).isEqualTo(4 * B);
        assertThat(resumed.computedTokens()).isEqualTo(4 * B);
        assertThat(kv.hitTokens()).isEqualTo(hitsBefore);
        assertThat(kv.hostHitTokens()).isEqualTo(4 * B);
        KvCacheManager.BlockCopies in = kv.takeSwapIns();
        assertThat(in.from()).containsExactly(out.hostBlocks());
        assertThat(in.to()).containsExactly(java.util.Arrays.copyOf(resumed.blocks(), 4));
        assertThat(kv.takeSwapIns().blocks()).as("taken once").isZero();

        recorder.drain(2).ifPresent(index::apply);
        assertThat(index.match(hashes)).as("on both tiers: the device counts").containsExactly(new PodMatch("pod-a", 4, 4, 0));
        assertThat(kv.host().cachedBlocks()).as("the host copies stay cached, unpinned").isEqualTo(4);
    }

    /** A host tier without room refuses the swap and changes nothing; the caller discards instead. */
    @Test
    void aFullHostTierRefusesTheSwapAndChangesNothing() {
        KvCacheManager kv = new KvCacheManager(new BlockPool(16, B, recorder), new BlockPool(3, B, recorder, Medium.HOST), hasher);
        SequenceBlocks small = kv.admit("small", range(7, 2 * B + 1));
        prefill(kv, small);
        KvCacheManager.SwapOut first = kv.swapOut(small);
        assertThat(first.hostBlocks()).hasSize(2);
        SequenceBlocks big = kv.admit("big", concat(range(7, 2 * B), range(400, 3 * B)));
        prefill(kv, big);
        assertThat(kv.swapOut(big)).as("needs 3 more host blocks, 1 is free").isNull();
        assertThat(kv.host().usedBlocks()).as("the shared blocks it touched are let go again").isEqualTo(2);
        assertThat(new KvCacheManager(new BlockPool(4, B, recorder), hasher).swapOut(small)).as("no host tier").isNull();
    }
}
