package io.kvmesh.runtime.kv;

import io.kvmesh.prefix.events.Medium;

/**
 * Receives what a {@link BlockPool} did to its cached blocks, in order, naming the pool's tier; the source of the pod's
 * KV events. The device pool and the host pool share one sink, so the pod's events form one numbered stream.
 */
public interface KvEventSink {

    /** A full block entered the prefix cache. {@code parentHash} is the previous block's hash, or the root's. */
    void stored(long blockHash, long parentHash, boolean parentIsRoot, int[] tokenIds, Medium medium);

    /** A cached block left the prefix cache (evicted to make room). */
    void removed(long blockHash, Medium medium);

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
