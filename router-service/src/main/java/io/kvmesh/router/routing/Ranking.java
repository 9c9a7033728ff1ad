package io.kvmesh.router.routing;

import java.util.List;

/** A policy's answer for one request: the candidates best first, and why the first one is first. */
public record Ranking(List<Candidate> ranked, DecisionReason reason) {

    public Ranking {
        ranked = List.copyOf(ranked);
    }
}
