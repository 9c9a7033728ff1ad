package io.kvmesh.runtime.kv;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import it.unimi.dsi.fastutil.ints.IntArrayList;
import it.unimi.dsi.fastutil.longs.LongArrayList;

import io.kvmesh.prefix.events.BlockRemoved;
import io.kvmesh.prefix.events.BlocksQueued;
import io.kvmesh.prefix.events.BlockStored;
import io.kvmesh.prefix.events.KvEvent;
import io.kvmesh.prefix.events.KvEventBatch;
import io.kvmesh.prefix.events.Medium;

/**
 * Turns the block pools' store and evict calls into the pod's {@link KvEventBatch}es: consecutive stores on one tier
 * that continue one chain become one {@link BlockStored}, consecutive removals on one tier one {@link BlockRemoved}
 * (each carrying its {@link Medium}, so the router knows which blocks are on the device and which in host memory), and each
 * {@link #drain(long)} numbers its batch with the next {@code seq} of this epoch. Thread-safe: the engine thread
 * records while the publisher drains.
 */
public final class KvEventRecorder implements KvEventSink {

    private final String podId;
    private final long epoch;
    private final int blockSize;
    private Medium runMedium = Medium.DEVICE;
    private final List<KvEvent> pending = new ArrayList<>();
    private final LongArrayList runHashes = new LongArrayList();
    private final IntArrayList runTokens = new IntArrayList();
    private Long runParent;
    private boolean runIsStore;
    private long nextSeq;

    public KvEventRecorder(String podId, long epoch, int blockSize) {
        this.podId = podId;
        this.epoch = epoch;
        this.blockSize = blockSize;
    }

    @Override
    public synchronized void stored(long blockHash, long parentHash, boolean parentIsRoot, int[] tokenIds, Medium medium) {
        boolean continuesRun = runIsStore && runMedium == medium && !runHashes.isEmpty()
                && runHashes.getLong(runHashes.size() - 1) == parentHash;
        if (!continuesRun) {
            closeRun();
            runIsStore = true;
            runMedium = medium;
            runParent = parentIsRoot ? null : parentHash;
        }
        runHashes.add(blockHash);
        runTokens.addElements(runTokens.size(), tokenIds);
    }

    @Override
    public synchronized void removed(long blockHash, Medium medium) {
        if (runIsStore || runMedium != medium) {
            closeRun();
            runIsStore = false;
            runMedium = medium;
        }
        runHashes.add(blockHash);
    }

    @Override
    public synchronized void queued(long[] blockHashes) {
        closeRun();
        pending.add(new BlocksQueued(blockHashes));
    }

    /** The events recorded since the last drain as the next batch, or empty when nothing happened. */
    public synchronized Optional<KvEventBatch> drain(long nowMillis) {
        closeRun();
        if (pending.isEmpty()) {
            return Optional.empty();
        }
        KvEventBatch batch = new KvEventBatch(podId, epoch, nextSeq++, nowMillis, List.copyOf(pending));
        pending.clear();
        return Optional.of(batch);
    }

    private void closeRun() {
        if (runHashes.isEmpty()) {
            return;
        }
        if (runIsStore) {
            pending.add(new BlockStored(runHashes.toLongArray(), runParent, runTokens.toIntArray(), blockSize, runMedium));
        } else {
            pending.add(new BlockRemoved(runHashes.toLongArray(), runMedium));
        }
        runHashes.clear();
        runTokens.clear();
        runParent = null;
    }
}
