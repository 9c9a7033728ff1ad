package io.kvmesh.prefix.index;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.kvmesh.prefix.events.PodStatus;

/**
 * The pods that are alive, from their {@code pod-status} heartbeats, and when to retire one: on its tombstone (clean
 * shutdown), when it comes back with a new epoch (restart: its old blocks are gone), or when no heartbeat arrived
 * for {@code heartbeatTimeoutMillis}. Retiring a pod also removes its blocks from the {@link PrefixIndex}.
 * Thread-safe. Time is passed in (milliseconds of any monotonic clock) so tests need no sleeping.
 */
public final class LivePods {

    private final PrefixIndex index;
    private final long heartbeatTimeoutMillis;
    private final Map<String, Entry> pods = new HashMap<>();

    private record Entry(PodStatus status, long seenAtMillis) {
    }

    public LivePods(PrefixIndex index, long heartbeatTimeoutMillis) {
        if (heartbeatTimeoutMillis <= 0) {
            throw new IllegalArgumentException("heartbeat timeout must be positive, got " + heartbeatTimeoutMillis);
        }
        this.index = index;
        this.heartbeatTimeoutMillis = heartbeatTimeoutMillis;
    }

    /**
     * Records a heartbeat seen at {@code nowMillis}. A new epoch retires the pod's old state (and its blocks) first.
     * Within an epoch the pod never looks longer silent than before: a backlog of heartbeats delivered late (after an
     * outage) updates the status but not when the pod was last heard from.
     */
    public synchronized void heartbeat(PodStatus status, long nowMillis) {
        Entry previous = pods.get(status.podId());
        if (previous != null && status.epoch() < previous.status.epoch()) {
            return;
        }
        if (previous != null && status.epoch() > previous.status.epoch()) {
            index.retire(status.podId());
        }
        long seen = previous != null && previous.status.epoch() == status.epoch()
                ? Math.max(previous.seenAtMillis, nowMillis) : nowMillis;
        pods.put(status.podId(), new Entry(status, seen));
    }

    /**
     * The caller could not read heartbeats until {@code nowMillis} (it had no answer from the stream, e.g. the broker
     * was down): the pods' silence in that time says nothing about them, so every known pod counts as heard from now
     * and gets a whole timeout to be heard from again. A pod that is really gone is retired one timeout later.
     */
    public synchronized void excuseSilenceUntil(long nowMillis) {
        pods.replaceAll((podId, entry) -> entry.seenAtMillis >= nowMillis ? entry : new Entry(entry.status, nowMillis));
    }

    /** The pod shut down cleanly (its status tombstone). Returns false when it was not known. */
    public synchronized boolean tombstone(String podId) {
        index.retire(podId);
        return pods.remove(podId) != null;
    }

    /**
     * Retires every pod whose last heartbeat is older than the timeout, and drops index state of pods with no live
     * heartbeat at all (late events of a retired pod would otherwise linger as a ghost); returns the retired ids.
     * A pod announces its status before its first KV event, so a live pod is never dropped this way.
     */
    public synchronized List<String> expire(long nowMillis) {
        List<String> expired = new ArrayList<>();
        pods.entrySet().removeIf(entry -> {
            if (nowMillis - entry.getValue().seenAtMillis > heartbeatTimeoutMillis) {
                expired.add(entry.getKey());
                return true;
            }
            return false;
        });
        for (String podId : index.pods()) {
            if (!pods.containsKey(podId) && !expired.contains(podId)) {
                expired.add(podId);
            }
        }
        expired.forEach(index::retire);
        return expired;
    }

    /** The latest status of each live pod. */
    public synchronized List<PodStatus> live() {
        return pods.values().stream().map(Entry::status).toList();
    }

    public synchronized Optional<PodStatus> status(String podId) {
        Entry entry = pods.get(podId);
        return entry == null ? Optional.empty() : Optional.of(entry.status);
    }

    public long heartbeatTimeoutMillis() {
        return heartbeatTimeoutMillis;
    }
}
