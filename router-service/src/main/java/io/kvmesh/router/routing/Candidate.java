package io.kvmesh.router.routing;

import io.kvmesh.prefix.events.PodStatus;
import io.kvmesh.prefix.index.PodMatch;

/**
 * A live pod that can serve a request, with how much of the request's prefix it holds (0 blocks when none) and how many
 * requests this router has open on it ({@link OpenRequests}).
 */
public record Candidate(PodStatus status, PodMatch match, int openHere) {

    public Candidate(PodStatus status, PodMatch match) {
        this(status, match, 0);
    }

    public String podId() {
        return status.podId();
    }

    /**
     * Requests running and waiting on the pod: as of its last heartbeat, or this router's own open requests there if
     * more (they are current; the heartbeat may be up to a status interval old).
     */
    public int queue() {
        return Math.max(status.running() + status.waiting(), openHere);
    }

    public double kvUsage() {
        return status.deviceBlocks().fraction();
    }
}
