package io.kvmesh.prefix.index;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.kvmesh.prefix.blocks.BlockHasher;
import io.kvmesh.prefix.events.AllBlocksCleared;
import io.kvmesh.prefix.events.BlocksQueued;
import io.kvmesh.prefix.events.BlockRemoved;
import io.kvmesh.prefix.events.BlockStored;
import io.kvmesh.prefix.events.KvEvent;
import io.kvmesh.prefix.events.KvEventBatch;
import io.kvmesh.prefix.events.Medium;

class PrefixIndexTest {

    private static final int B = 4;
    private final BlockHasher hasher = new BlockHasher("m", "", B);
    private final PrefixIndex index = new PrefixIndex();

    /** A request of {@code blocks} full blocks whose token ids start at {@code seed}. */
    private long[] request(int seed, int blocks) {
        int[] tokens = new int[blocks * B];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = seed + i;
        }
        return hasher.hashFullBlocks(tokens);
    }

    private static long[] slice(long[] hashes, int from, int to) {
        return java.util.Arrays.copyOfRange(hashes, from, to);
    }

    private static BlockStored stored(long[] hashes, Medium medium) {
        return new BlockStored(hashes, null, new int[hashes.length * B], B, medium);
    }

    private final java.util.Map<String, Long> nextSeq = new java.util.HashMap<>();

    private ApplyOutcome send(String pod, KvEvent... events) {
        long seq = nextSeq.merge(pod, 1L, Long::sum) - 1;
        return index.apply(new KvEventBatch(pod, 1, seq, 0, List.of(events)));
    }

    @Test
    void matchCountsConsecutiveBlocksFromTheFirst() {
        long[] prompt = request(100, 6);
        send("a", stored(slice(prompt, 0, 4), Medium.DEVICE));
        send("b", stored(slice(prompt, 0, 2), Medium.DEVICE));
        assertThat(index.match(prompt)).containsExactly(
                new PodMatch("a", 4, 4, 0),
                new PodMatch("b", 2, 2, 0));
    }

    /** A request the pod only queued is not held: the index waits for its {@code BlockStored}. */
    @Test
    void queuedBlocksAreNotHeld() {
        long[] prompt = request(100, 6);
        send("a", stored(slice(prompt, 0, 2), Medium.DEVICE));
        assertThat(send("a", new BlocksQueued(slice(prompt, 2, 6)))).isEqualTo(ApplyOutcome.APPLIED);
        assertThat(index.match(prompt)).containsExactly(new PodMatch("a", 2, 2, 0));
        assertThat(index.holds("a", prompt[2])).isFalse();
    }

    /**
     * Random stores, removals (either tier), clears and retirements against a plain map-of-maps model: every match —
     * pods, matched blocks, device/host split, order — equals the model's. Nine pods over twelve blocks, so blocks
     * move between the packed form (up to four holders) and the crowded one, both ways.
     */
    @Test
    void matchesEqualAPlainModelUnderRandomEvents() {
        java.util.SplittableRandom random = new java.util.SplittableRandom(5);
        PrefixIndex subject = new PrefixIndex();
        java.util.Map<String, java.util.Map<Long, Integer>> model = new java.util.TreeMap<>();
        java.util.Map<String, Long> seqs = new java.util.HashMap<>();
        long[] chain = request(1, 12);
        for (int step = 0; step < 6000; step++) {
            String pod = "p" + random.nextInt(9);
            int from = random.nextInt(chain.length);
            long[] hashes = slice(chain, from, Math.min(chain.length, from + 1 + random.nextInt(4)));
            Medium medium = random.nextBoolean() ? Medium.DEVICE : Medium.HOST;
            int bit = medium == Medium.DEVICE ? 1 : 2;
            int action = random.nextInt(20);
            if (action == 0) {
                subject.retire(pod);
                model.remove(pod);
                seqs.remove(pod);
                continue;
            }
            KvEvent event = action == 1 ? new AllBlocksCleared()
                    : action < 11 ? stored(hashes, medium) : new BlockRemoved(hashes, medium);
            long seq = seqs.merge(pod, 1L, Long::sum);
            subject.apply(new KvEventBatch(pod, 1, seq, 0, List.of(event)));
            java.util.Map<Long, Integer> tiers = model.computeIfAbsent(pod, p -> new java.util.HashMap<>());
            if (event instanceof AllBlocksCleared) {
                tiers.clear();
            } else {
                for (long hash : hashes) {
                    int now = action < 11 ? tiers.getOrDefault(hash, 0) | bit : tiers.getOrDefault(hash, 0) & ~bit;
                    if (now == 0) {
                        tiers.remove(hash);
                    } else {
                        tiers.put(hash, now);
                    }
                }
            }
            long[] prompt = slice(chain, 0, 1 + random.nextInt(chain.length));
            List<PodMatch> expected = new ArrayList<>();
            model.forEach((id, held) -> {
                int device = 0;
                int host = 0;
                for (long hash : prompt) {
                    int t = held.getOrDefault(hash, 0);
                    if (t == 0) {
                        break;
                    } else if ((t & 1) != 0) {
                        device++;
                    } else {
                        host++;
                    }
                }
                if (device + host > 0) {
                    expected.add(new PodMatch(id, device + host, device, host));
                }
            });
            expected.sort(java.util.Comparator.comparingInt(PodMatch::matchedBlocks).reversed()
                    .thenComparing(java.util.Comparator.comparingInt(PodMatch::deviceBlocks).reversed())
                    .thenComparing(PodMatch::podId));
            assertThat(subject.match(prompt)).as("step %d", step).isEqualTo(expected);
            long distinct = model.values().stream().flatMap(held -> held.keySet().stream()).distinct().count();
            assertThat(subject.stats().distinctBlocks()).as("step %d", step).isEqualTo(distinct);
        }
    }

    /** Made-up pod ids cannot grow the index without bound: beyond MAX_PODS a new pod's batches are refused. */
    @Test
    void aFloodOfPodIdsStopsAtTheMaximumAndARetiredSlotIsFreeAgain() {
        long[] prompt = request(7, 1);
        for (int i = 0; i < PrefixIndex.MAX_PODS; i++) {
            assertThat(send("pod-" + i, stored(prompt, Medium.DEVICE))).isEqualTo(ApplyOutcome.APPLIED);
        }
        assertThat(send("one-more", stored(prompt, Medium.DEVICE))).isEqualTo(ApplyOutcome.TOO_MANY_PODS);
        assertThat(index.pods()).hasSize(PrefixIndex.MAX_PODS).doesNotContain("one-more");
        assertThat(index.match(prompt)).hasSize(PrefixIndex.MAX_PODS);

        index.retire("pod-0");
        assertThat(send("one-more", stored(prompt, Medium.HOST))).isEqualTo(ApplyOutcome.APPLIED);
        assertThat(index.match(prompt)).hasSize(PrefixIndex.MAX_PODS).contains(new PodMatch("one-more", 1, 0, 1));
    }

    /** Beyond its bound the index evicts the largest pod's oldest blocks; it never grows past the bound. */
    @Test
    void memoryStaysBoundedByEvictingTheLargestPodsOldestBlocks() {
        PrefixIndex bounded = new PrefixIndex(10);
        long[] big = request(100, 12);
        long[] small = request(900, 3);
        bounded.apply(new KvEventBatch("small", 1, 0, 0, List.of(stored(small, Medium.DEVICE))));
        bounded.apply(new KvEventBatch("big", 1, 0, 0, List.of(stored(slice(big, 0, 7), Medium.DEVICE))));
        assertThat(bounded.evictedEntries()).isZero();
        bounded.apply(new KvEventBatch("big", 1, 1, 0, List.of(stored(slice(big, 7, 12), Medium.HOST))));
        IndexStats stats = bounded.stats();
        assertThat(stats.deviceEntries() + stats.hostEntries()).isEqualTo(10);
        assertThat(stats.distinctBlocks()).isEqualTo(10);
        assertThat(bounded.evictedEntries()).isEqualTo(5);
        // The small pod kept everything; the big one lost its five oldest blocks, so its chain no longer matches
        // from the start — the router under-estimates it, nothing worse.
        assertThat(bounded.match(small)).containsExactly(new PodMatch("small", 3, 3, 0));
        assertThat(bounded.match(big)).isEmpty();
        assertThat(bounded.holds("big", big[4])).isFalse();
        assertThat(bounded.holds("big", big[5])).isTrue();
        // Retiring frees the room; removed and re-stored blocks are accounted for exactly.
        bounded.retire("big");
        bounded.apply(new KvEventBatch("small", 1, 1, 0, List.of(new BlockRemoved(small, Medium.DEVICE))));
        assertThat(bounded.stats()).isEqualTo(new IndexStats(1, 0, 0, 0));
        bounded.apply(new KvEventBatch("small", 1, 2, 0, List.of(stored(slice(big, 0, 10), Medium.DEVICE))));
        assertThat(bounded.evictedEntries()).isEqualTo(5);
        assertThat(bounded.match(big)).containsExactly(new PodMatch("small", 10, 10, 0));
    }

    @Test
    void holdsAnswersPerPodAndBlockOnEitherTier() {
        long[] prompt = request(100, 3);
        send("a", stored(slice(prompt, 0, 1), Medium.DEVICE), stored(slice(prompt, 2, 3), Medium.HOST));
        assertThat(index.holds("a", prompt[0])).isTrue();
        assertThat(index.holds("a", prompt[1])).isFalse();
        assertThat(index.holds("a", prompt[2])).isTrue();
        assertThat(index.holds("b", prompt[0])).isFalse();
        index.retire("a");
        assertThat(index.holds("a", prompt[0])).isFalse();
    }

    @Test
    void aHoleEndsTheMatchEvenIfLaterBlocksAreHeld() {
        long[] prompt = request(100, 5);
        send("a", stored(slice(prompt, 0, 2), Medium.DEVICE), stored(slice(prompt, 3, 5), Medium.DEVICE));
        assertThat(index.match(prompt)).containsExactly(new PodMatch("a", 2, 2, 0));
        send("b", stored(slice(prompt, 1, 5), Medium.DEVICE));
        assertThat(index.match(prompt)).as("b lacks the first block").containsExactly(new PodMatch("a", 2, 2, 0));
    }

    @Test
    void tiersAreReportedSeparatelyAndDeviceWinsWhenBothHoldABlock() {
        long[] prompt = request(7, 5);
        send("a", stored(slice(prompt, 0, 2), Medium.DEVICE), stored(slice(prompt, 1, 5), Medium.HOST));
        assertThat(index.match(prompt)).containsExactly(new PodMatch("a", 5, 2, 3));
        // Swapping block 0 out: device copy removed, host copy stored.
        send("a", new BlockRemoved(slice(prompt, 0, 1), Medium.DEVICE), stored(slice(prompt, 0, 1), Medium.HOST));
        assertThat(index.match(prompt)).containsExactly(new PodMatch("a", 5, 1, 4));
        assertThat(index.stats()).isEqualTo(new IndexStats(1, 5, 1, 5));
    }

    @Test
    void removeOnOneTierKeepsTheOther() {
        long[] prompt = request(7, 2);
        send("a", stored(prompt, Medium.DEVICE), stored(prompt, Medium.HOST));
        send("a", new BlockRemoved(prompt, Medium.HOST));
        assertThat(index.match(prompt)).containsExactly(new PodMatch("a", 2, 2, 0));
        send("a", new BlockRemoved(prompt, Medium.DEVICE));
        assertThat(index.match(prompt)).isEmpty();
        assertThat(index.stats()).isEqualTo(new IndexStats(1, 0, 0, 0));
    }

    @Test
    void removingABlockThePodNeverHeldChangesNothing() {
        long[] prompt = request(7, 2);
        send("a", stored(prompt, Medium.DEVICE));
        send("a", new BlockRemoved(request(500, 1), Medium.DEVICE), new BlockRemoved(prompt, Medium.HOST));
        assertThat(index.match(prompt)).containsExactly(new PodMatch("a", 2, 2, 0));
        assertThat(index.stats()).isEqualTo(new IndexStats(1, 2, 2, 0));
    }

    @Test
    void allBlocksClearedEmptiesOnlyThatPod() {
        long[] prompt = request(1, 3);
        send("a", stored(prompt, Medium.DEVICE), stored(prompt, Medium.HOST));
        send("b", stored(prompt, Medium.DEVICE));
        send("a", new AllBlocksCleared());
        assertThat(index.match(prompt)).containsExactly(new PodMatch("b", 3, 3, 0));
        assertThat(index.stats()).isEqualTo(new IndexStats(2, 3, 3, 0));
    }

    @Test
    void retiringAPodRemovesAllItsBlocksEverywhere() {
        long[] shared = request(1, 3);
        long[] onlyA = request(900, 2);
        send("a", stored(shared, Medium.DEVICE), stored(onlyA, Medium.HOST));
        send("b", stored(shared, Medium.DEVICE));
        assertThat(index.retire("a")).isTrue();
        assertThat(index.retire("a")).isFalse();
        assertThat(index.match(shared)).containsExactly(new PodMatch("b", 3, 3, 0));
        assertThat(index.match(onlyA)).isEmpty();
        assertThat(index.stats()).isEqualTo(new IndexStats(1, 3, 3, 0));
        assertThat(index.position("a")).isEmpty();
    }

    @Test
    void aRetiredPodsSlotIsReusedWithoutLeakingItsBlocks() {
        long[] first = request(1, 2);
        long[] second = request(50, 2);
        send("a", stored(first, Medium.DEVICE));
        index.retire("a");
        send("c", stored(second, Medium.DEVICE));
        assertThat(index.match(first)).isEmpty();
        assertThat(index.match(second)).containsExactly(new PodMatch("c", 2, 2, 0));
    }

    @Test
    void interleavedPodsSharingAndDivergingPrefixes() {
        // Three conversations share a 2-block system prompt and then diverge.
        long[] system = request(0, 2);
        long[][] conversations = new long[3][];
        for (int c = 0; c < 3; c++) {
            long parent = system[1];
            List<Long> hashes = new ArrayList<>(List.of(system[0], system[1]));
            for (int block = 0; block < 3; block++) {
                int[] tokens = new int[B];
                java.util.Arrays.fill(tokens, 1000 * (c + 1) + block);
                parent = hasher.hashBlock(parent, tokens, 0);
                hashes.add(parent);
            }
            conversations[c] = hashes.stream().mapToLong(Long::longValue).toArray();
        }
        send("a", stored(conversations[0], Medium.DEVICE));
        send("b", stored(conversations[1], Medium.DEVICE));
        send("a", stored(slice(conversations[2], 2, 3), Medium.DEVICE));
        send("b", new BlockRemoved(slice(conversations[1], 4, 5), Medium.DEVICE));
        send("c", stored(system, Medium.HOST));
        send("a", new BlockRemoved(slice(conversations[0], 3, 5), Medium.DEVICE));

        assertThat(index.match(conversations[0])).containsExactly(
                new PodMatch("a", 3, 3, 0), new PodMatch("b", 2, 2, 0), new PodMatch("c", 2, 0, 2));
        assertThat(index.match(conversations[1])).containsExactly(
                new PodMatch("b", 4, 4, 0), new PodMatch("a", 2, 2, 0), new PodMatch("c", 2, 0, 2));
        assertThat(index.match(conversations[2])).containsExactly(
                new PodMatch("a", 3, 3, 0), new PodMatch("b", 2, 2, 0), new PodMatch("c", 2, 0, 2));
        assertThat(index.match(request(12345, 3))).isEmpty();
        assertThat(index.match(new long[0])).isEmpty();
    }

    @Test
    void duplicateBatchesAreIgnored() {
        long[] prompt = request(1, 2);
        KvEventBatch store = new KvEventBatch("a", 1, 0, 0, List.of(stored(prompt, Medium.DEVICE)));
        KvEventBatch remove = new KvEventBatch("a", 1, 1, 0, List.of(new BlockRemoved(prompt, Medium.DEVICE)));
        assertThat(index.apply(store)).isEqualTo(ApplyOutcome.APPLIED);
        assertThat(index.apply(remove)).isEqualTo(ApplyOutcome.APPLIED);
        assertThat(index.apply(store)).as("redelivered after a rebalance").isEqualTo(ApplyOutcome.DUPLICATE);
        assertThat(index.match(prompt)).isEmpty();
        assertThat(index.position("a")).contains(new PrefixIndex.PodPosition(1, 1));
    }

    @Test
    void aSequenceGapDropsThePodsOldBlocks() {
        long[] old = request(1, 2);
        long[] fresh = request(100, 2);
        index.apply(new KvEventBatch("a", 1, 0, 0, List.of(stored(old, Medium.DEVICE))));
        // seq 1 (which may have removed `old`) was lost.
        assertThat(index.apply(new KvEventBatch("a", 1, 2, 0, List.of(stored(fresh, Medium.DEVICE)))))
                .isEqualTo(ApplyOutcome.SEQ_GAP);
        assertThat(index.match(old)).isEmpty();
        assertThat(index.match(fresh)).containsExactly(new PodMatch("a", 2, 2, 0));
    }

    @Test
    void aNewEpochDropsThePodsOldBlocksAndOldEpochsAreIgnored() {
        long[] before = request(1, 2);
        long[] after = request(100, 2);
        index.apply(new KvEventBatch("a", 10, 0, 0, List.of(stored(before, Medium.DEVICE))));
        assertThat(index.apply(new KvEventBatch("a", 11, 0, 0, List.of(stored(after, Medium.DEVICE)))))
                .isEqualTo(ApplyOutcome.NEW_EPOCH);
        assertThat(index.apply(new KvEventBatch("a", 10, 1, 0, List.of(stored(before, Medium.DEVICE)))))
                .isEqualTo(ApplyOutcome.STALE_EPOCH);
        assertThat(index.match(before)).isEmpty();
        assertThat(index.match(after)).containsExactly(new PodMatch("a", 2, 2, 0));
        assertThat(index.position("a")).contains(new PrefixIndex.PodPosition(11, 0));
    }

    @Test
    void theFirstBatchSeenFromAPodIsTheBaseline() {
        long[] prompt = request(1, 1);
        assertThat(index.apply(new KvEventBatch("a", 1, 41, 0, List.of(stored(prompt, Medium.DEVICE)))))
                .isEqualTo(ApplyOutcome.APPLIED);
        assertThat(index.apply(new KvEventBatch("a", 1, 42, 0, List.of()))).isEqualTo(ApplyOutcome.APPLIED);
        assertThat(index.match(prompt)).hasSize(1);
    }

    @Test
    void storingTheSameBlockTwiceCountsOnce() {
        long[] prompt = request(1, 2);
        send("a", stored(prompt, Medium.DEVICE));
        send("a", stored(prompt, Medium.DEVICE));
        assertThat(index.stats()).isEqualTo(new IndexStats(1, 2, 2, 0));
        send("a", new BlockRemoved(prompt, Medium.DEVICE));
        assertThat(index.stats()).isEqualTo(new IndexStats(1, 0, 0, 0));
    }

    @Test
    void aSnapshotRestoresTheSameStateElsewhere() {
        long[] prompt = request(1, 4);
        send("a", stored(prompt, Medium.DEVICE), stored(slice(prompt, 2, 4), Medium.HOST));
        send("b", stored(slice(prompt, 0, 2), Medium.DEVICE));
        var snapshot = index.snapshot("a", java.util.Map.of(0, 17L)).orElseThrow();
        assertThat(snapshot.lastSeq()).isEqualTo(0);
        assertThat(snapshot.sourceOffsets()).containsEntry(0, 17L);

        PrefixIndex replica = new PrefixIndex();
        replica.restore(snapshot);
        assertThat(replica.match(prompt)).containsExactly(new PodMatch("a", 4, 4, 0));
        assertThat(replica.stats()).isEqualTo(new IndexStats(1, 4, 4, 2));
        assertThat(replica.apply(new KvEventBatch("a", 1, 0, 0, List.of(new AllBlocksCleared()))))
                .as("the snapshot's seq is applied already").isEqualTo(ApplyOutcome.DUPLICATE);
        assertThat(index.snapshot("nobody", java.util.Map.of())).isEmpty();
    }
}
