package io.kvmesh.router.routing;

import io.kvmesh.prefix.events.PodStatus;
import io.kvmesh.prefix.index.PodMatch;

/**
 * A live pod that can serve a request, with how much of the request's prefix it holds (0 blocks when none), how many
 * requests this router has open on it ({@link OpenRequests}) and its queue as reported: its heartbeat's running and
 * waiting requests, or an estimate of them now ({@link PodArrivals}).
 */
public record Candidate(PodStatus status, PodMatch match, int openHere, int reportedQueue) {

    public Candidate(PodStatus status, PodMatch match, int openHere) {
        this(status, match, openHere, heartbeatQueue(status));
    }

    /** Running and waiting requests as the pod's heartbeat reports them. */
    static int heartbeatQueue(PodStatus status) {
        return status.running() + status.waiting();
    }

    public Candidate(PodStatus status, PodMatch match) {
        this(status, match, 0);
    }

    public String podId() {
        return status.podId();
    }

    /**
     * Requests running and waiting on the pod: as reported, or this router's own open requests there if more (they are
     * current; a heartbeat may be up to a status interval old).
     */
    public int queue() {
        return Math.max(reportedQueue, openHere);
    }

    public double kvUsage() {
        return status.deviceBlocks().fraction();
    }
}
