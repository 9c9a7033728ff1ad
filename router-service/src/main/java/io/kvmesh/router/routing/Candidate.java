package io.kvmesh.router.routing;

import io.kvmesh.prefix.events.PodStatus;
import io.kvmesh.prefix.index.PodMatch;

/** A live pod that can serve a request, with how much of the request's prefix it holds (0 blocks when none). */
public record Candidate(PodStatus status, PodMatch match) {

    public String podId() {
        return status.podId();
    }

    /** Requests running and waiting on the pod, as of its last heartbeat. */
    public int queue() {
        return status.running() + status.waiting();
    }

    public double kvUsage() {
        return status.deviceBlocks().fraction();
    }
}
