package io.kvmesh.prefix.events;

import java.util.List;
import java.util.Objects;

/**
 * What a pod publishes to {@code kv-events}, keyed by pod id. {@code epoch} is new on every start of the pod and
 * grows from one start to the next; {@code seq} counts the pod's batches within an epoch, from 0 and without gaps,
 * so a consumer can tell a lost batch from a duplicate. {@code ts} is the pod's wall clock in epoch milliseconds.
 */
public record KvEventBatch(int v, String podId, long epoch, long seq, long ts, List<KvEvent> events) {

    /** The schema version this code writes and reads. */
    public static final int VERSION = 1;

    public KvEventBatch {
        if (v != VERSION) {
            throw new IllegalArgumentException("unsupported KV event batch version " + v + ", expected " + VERSION);
        }
        Objects.requireNonNull(podId, "podId");
        if (podId.isEmpty()) {
            throw new IllegalArgumentException("podId must not be empty");
        }
        if (seq < 0) {
            throw new IllegalArgumentException("seq must not be negative, got " + seq);
        }
        events = List.copyOf(events);
    }

    public KvEventBatch(String podId, long epoch, long seq, long ts, List<KvEvent> events) {
        this(VERSION, podId, epoch, seq, ts, events);
    }
}
