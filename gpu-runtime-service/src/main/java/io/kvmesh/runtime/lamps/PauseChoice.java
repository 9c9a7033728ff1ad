package io.kvmesh.runtime.lamps;

/** What happens to a paused request's KV blocks while its tool or API call runs (InferCept's three options). */
public enum PauseChoice {
    /** Keep the blocks on the device, idle, until the request resumes. */
    KEEP,
    /** Copy the blocks to host memory and free them on the device; copy them back on resume. */
    SWAP,
    /** Free the blocks; recompute the context on resume (the prefix cache may still hold part of it). */
    DISCARD
}
