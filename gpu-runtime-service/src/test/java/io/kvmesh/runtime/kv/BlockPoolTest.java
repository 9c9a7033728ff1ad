package io.kvmesh.runtime.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import it.unimi.dsi.fastutil.ints.IntSet;

class BlockPoolTest {

    private static final int B = 4;

    /** Records events as text, e.g. "stored 11 <- root", "removed 11". */
    private final List<String> events = new ArrayList<>();
    private final KvEventSink sink = new KvEventSink() {
        @Override
        public void stored(long blockHash, long parentHash, boolean parentIsRoot, int[] tokenIds, io.kvmesh.prefix.events.Medium medium) {
            events.add("stored " + blockHash + " <- " + (parentIsRoot ? "root" : String.valueOf(parentHash)));
        }

        @Override
        public void removed(long blockHash, io.kvmesh.prefix.events.Medium medium) {
            events.add("removed " + blockHash);
        }
    };

    private static int[] tokens(int first) {
        return new int[] {first, first + 1, first + 2, first + 3};
    }

    @Test
    void allocateAndFreeTrackReferences() {
        BlockPool pool = new BlockPool(4, B, sink);
        int[] blocks = pool.allocate(3);
        assertThat(blocks).containsExactly(0, 1, 2);
        assertThat(pool.usedBlocks()).isEqualTo(3);
        assertThat(pool.usage()).isEqualTo(0.75);
        assertThat(pool.canAllocate(2)).isFalse();
        assertThatThrownBy(() -> pool.allocate(2)).hasMessageContaining("cannot allocate 2 blocks: 1 free of 4");
        pool.free(blocks);
        assertThat(pool.freeBlocks()).isEqualTo(4);
        assertThatThrownBy(() -> pool.free(new int[] {0})).hasMessageContaining("freed more often than referenced");
    }

    @Test
    void aCachedBlockIsFoundOnlyWithEqualTokens() {
        BlockPool pool = new BlockPool(4, B, sink);
        int block = pool.allocate(1)[0];
        assertThat(pool.cache(block, 11, 0, true, tokens(100), 0)).isTrue();
        assertThat(pool.lookup(11, tokens(100), 0)).isEqualTo(block);
        assertThat(pool.lookup(11, tokens(101), 0)).as("same hash, other tokens: a collision").isEqualTo(-1);
        assertThat(pool.lookup(12, tokens(100), 0)).isEqualTo(-1);
        assertThat(events).containsExactly("stored 11 <- root");
    }

    @Test
    void aFreedCachedBlockIsReusedUntilEvicted() {
        BlockPool pool = new BlockPool(2, B, sink);
        int block = pool.allocate(1)[0];
        pool.cache(block, 11, 0, true, tokens(0), 0);
        pool.free(new int[] {block});
        assertThat(pool.freeBlocks()).isEqualTo(2);
        assertThat(pool.lookup(11, tokens(0), 0)).isEqualTo(block);

        pool.touch(block);
        assertThat(pool.refCount(block)).isEqualTo(1);
        assertThat(pool.freeBlocks()).as("a hit takes the block out of the free queue").isEqualTo(1);
        pool.free(new int[] {block});

        pool.allocate(2);
        assertThat(pool.lookup(11, tokens(0), 0)).isEqualTo(-1);
        assertThat(pool.evictions()).isEqualTo(1);
        assertThat(events).containsExactly("stored 11 <- root", "removed 11");
    }

    @Test
    void evictsLeastRecentlyFreedFirstAndAChainsTailBeforeItsHead() {
        BlockPool pool = new BlockPool(6, B, sink);
        int[] older = pool.allocate(3);
        int[] newer = pool.allocate(3);
        for (int i = 0; i < 3; i++) {
            pool.cache(older[i], 10 + i, i == 0 ? 0 : 10 + i - 1, i == 0, tokens(4 * i), 0);
            pool.cache(newer[i], 20 + i, i == 0 ? 0 : 20 + i - 1, i == 0, tokens(100 + 4 * i), 0);
        }
        pool.free(older);
        pool.free(newer);
        events.clear();
        pool.allocate(4);
        assertThat(events).containsExactly("removed 12", "removed 11", "removed 10", "removed 22");
        assertThat(pool.lookup(20, tokens(100), 0)).isNotNegative();
        assertThat(pool.lookup(21, tokens(104), 0)).isNotNegative();
    }

    @Test
    void blocksUsedOnceAreEvictedBeforeReusedOnesHoweverRecentlyFreed() {
        BlockPool pool = new BlockPool(5, B, sink);
        // A shared 2-block prefix, reused by a second request, then freed first (least recently).
        int[] prefix = pool.allocate(2);
        pool.cache(prefix[0], 10, 0, true, tokens(0), 0);
        pool.cache(prefix[1], 11, 10, false, tokens(4), 0);
        pool.touch(prefix[0]);
        pool.touch(prefix[1]);
        pool.free(prefix);
        pool.free(prefix);
        assertThat(pool.freeReusedBlocks()).isEqualTo(2);
        // A question asked once, freed later (more recently).
        int[] question = pool.allocate(2);
        pool.cache(question[0], 30, 0, true, tokens(40), 0);
        pool.cache(question[1], 31, 30, false, tokens(44), 0);
        pool.free(question);
        events.clear();
        pool.allocate(3);
        assertThat(events).as("plain LRU would have evicted the older prefix first")
                .containsExactly("removed 31", "removed 30");
        assertThat(pool.lookup(10, tokens(0), 0)).isNotNegative();
        pool.allocate(1);
        assertThat(events).as("with no once-used block left, the reused queue's least recent goes: the chain's tail")
                .containsExactly("removed 31", "removed 30", "removed 11");
        assertThat(pool.freeReusedBlocks()).isEqualTo(1);
        pool.allocate(1);
        assertThat(pool.freeBlocks()).isZero();
        assertThat(pool.freeReusedBlocks()).isZero();
    }

    @Test
    void aBlockExpectedToBeReusedWaitsInTheReusedQueue() {
        BlockPool pool = new BlockPool(3, B, sink);
        int[] paused = pool.allocate(1);
        pool.cache(paused[0], 10, 0, true, tokens(0), 0);
        pool.expectReuse(paused[0]);
        pool.free(paused);
        int[] other = pool.allocate(1);
        pool.cache(other[0], 20, 0, true, tokens(40), 0);
        pool.free(other);
        events.clear();
        pool.allocate(2);
        assertThat(events).as("the once-used block goes first though freed later").containsExactly("removed 20");
        assertThat(pool.lookup(10, tokens(0), 0)).isEqualTo(paused[0]);
    }

    @Test
    void aHashAlreadyCachedInAnotherBlockIsNotCachedTwice() {
        BlockPool pool = new BlockPool(2, B, sink);
        int[] blocks = pool.allocate(2);
        assertThat(pool.cache(blocks[0], 11, 0, true, tokens(0), 0)).isTrue();
        assertThat(pool.cache(blocks[1], 11, 0, true, tokens(0), 0)).isFalse();
        assertThat(pool.cachedBlocks()).isEqualTo(1);
        pool.free(blocks);
        assertThat(events).containsExactly("stored 11 <- root");
    }

    @Test
    void onlyReferencedUncachedBlocksCanBeCached() {
        BlockPool pool = new BlockPool(2, B, sink);
        assertThatThrownBy(() -> pool.cache(0, 1, 0, true, tokens(0), 0)).hasMessageContaining("is free");
        int block = pool.allocate(1)[0];
        pool.cache(block, 1, 0, true, tokens(0), 0);
        assertThatThrownBy(() -> pool.cache(block, 2, 0, true, tokens(0), 0)).hasMessageContaining("cached already");
    }

    @Test
    void rejectsImpossibleShapes() {
        assertThatThrownBy(() -> new BlockPool(0, B, sink)).hasMessageContaining("at least one block");
        assertThatThrownBy(() -> new BlockPool(4, 0, sink)).hasMessageContaining("block size must be positive");
    }

    @Test
    void blocksKeptForAWaitingRequestAreEvictedAfterEveryOtherFreeBlock() {
        BlockPool pool = new BlockPool(3, B, sink);
        int[] chain = pool.allocate(2);
        pool.cache(chain[0], 11, 0, true, tokens(100), 0);
        pool.cache(chain[1], 12, 11, false, tokens(104), 0);
        int[] once = pool.allocate(1);
        pool.cache(once[0], 21, 0, true, tokens(200), 0);
        pool.free(chain);
        pool.free(once);
        // Freed first and used once, the chain would go first; kept, the block freed after it goes instead.
        pool.keepForReuse(chain, 2);
        assertThat(pool.freeReusedBlocks()).isEqualTo(2);
        pool.allocate(1);
        assertThat(events).endsWith("removed 21");
        pool.allocate(1);
        assertThat(events).as("the chain's tail before its head").endsWith("removed 12");
    }

    @Test
    void countsTheReusedBlocksFreedWithinAWindowExceptTheExcluded() {
        long[] now = {1_000};
        BlockPool pool = new BlockPool(6, B, sink).timedBy(() -> now[0]);
        int[] old = reusedChain(pool, 10, 0);
        now[0] = 5_000;
        int[] recent = reusedChain(pool, 20, 40);
        int[] once = pool.allocate(1);
        pool.cache(once[0], 30, 0, true, tokens(80), 0);
        pool.free(once);
        assertThat(pool.freeReusedBlocks()).isEqualTo(4);
        assertThat(pool.recentlyFreedReusedBlocks(4_000, IntSet.of())).as("used once: not counted").isEqualTo(2);
        assertThat(pool.recentlyFreedReusedBlocks(1_000, IntSet.of())).isEqualTo(4);
        assertThat(pool.recentlyFreedReusedBlocks(4_000, IntSet.of(recent[1]))).isEqualTo(1);
        assertThat(pool.recentlyFreedReusedBlocks(6_000, IntSet.of())).isZero();
        // Kept for a waiting request, the old chain counts as freed now.
        now[0] = 7_000;
        pool.keepForReuse(old, 2);
        assertThat(pool.recentlyFreedReusedBlocks(6_000, IntSet.of())).isEqualTo(2);
    }

    /** A 2-block chain (hashes first, first + 1) cached, reused by a second reference, then freed. */
    private static int[] reusedChain(BlockPool pool, long first, int fromToken) {
        int[] chain = pool.allocate(2);
        pool.cache(chain[0], first, 0, true, tokens(fromToken), 0);
        pool.cache(chain[1], first + 1, first, false, tokens(fromToken + 4), 0);
        pool.touch(chain[0]);
        pool.touch(chain[1]);
        pool.free(chain);
        pool.free(chain);
        return chain;
    }
}
