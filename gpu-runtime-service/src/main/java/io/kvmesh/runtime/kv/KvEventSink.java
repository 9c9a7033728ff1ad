package io.kvmesh.runtime.kv;

import io.kvmesh.prefix.events.Medium;

/**
 * Receives what a {@link BlockPool} did to its cached blocks, in order, naming the pool's tier; the source of the pod's
 * KV events (with the requests queued, from {@link KvCacheManager#announceQueued}). The device pool and the host pool
 * share one sink, so the pod's events form one numbered stream.
 */
public interface KvEventSink {

    /** A full block entered the prefix cache. {@code parentHash} is the previous block's hash, or the root's. */
    void stored(long blockHash, long parentHash, boolean parentIsRoot, int[] tokenIds, Medium medium);

    /** A cached block left the prefix cache (evicted to make room). */
    void removed(long blockHash, Medium medium);

    /**
     * A request joined the pod's queue whose prompt has these blocks: those not cached yet will be stored once computed.
     * Not a change to the cache; routers hold them as speculative entries. Called from request threads.
     */
    default void queued(long[] blockHashes) {
    }

    /** Sink that ignores everything, for pools nobody observes. */
    KvEventSink NONE = new KvEventSink() {
        @Override
        public void stored(long blockHash, long parentHash, boolean parentIsRoot, int[] tokenIds, Medium medium) {
        }

        @Override
        public void removed(long blockHash, Medium medium) {
        }
    };
}
