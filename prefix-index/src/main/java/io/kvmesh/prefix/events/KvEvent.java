package io.kvmesh.prefix.events;

/**
 * One change to the set of KV blocks a pod holds; the names follow vLLM's KV events. {@link BlocksQueued} (kvmesh's own)
 * announces blocks the pod is about to compute.
 */
public sealed interface KvEvent permits BlockStored, BlockRemoved, AllBlocksCleared, BlocksQueued {

    /** The {@code type} discriminator in JSON. */
    default String type() {
        return getClass().getSimpleName();
    }
}
