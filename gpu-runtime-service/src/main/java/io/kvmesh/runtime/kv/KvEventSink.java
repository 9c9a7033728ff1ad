package io.kvmesh.runtime.kv;

/** Receives what the {@link BlockPool} did to its cached blocks, in order; the source of the pod's KV events. */
public interface KvEventSink {

    /** A full block entered the prefix cache. {@code parentHash} is the previous block's hash, or the root's. */
    void stored(long blockHash, long parentHash, boolean parentIsRoot, int[] tokenIds);

    /** A cached block left the prefix cache (evicted to make room). */
    void removed(long blockHash);

    /** Sink that ignores everything, for pools nobody observes. */
    KvEventSink NONE = new KvEventSink() {
        @Override
        public void stored(long blockHash, long parentHash, boolean parentIsRoot, int[] tokenIds) {
        }

        @Override
        public void removed(long blockHash) {
        }
    };
}
