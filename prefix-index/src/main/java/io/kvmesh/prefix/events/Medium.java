package io.kvmesh.prefix.events;

/** Where a pod holds a KV block: in accelerator memory, or swapped out to host memory. */
public enum Medium {
    DEVICE,
    HOST
}
