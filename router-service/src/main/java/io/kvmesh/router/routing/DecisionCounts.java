package io.kvmesh.router.routing;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** How many routing decisions were made for each {@link DecisionReason} (requests sent, not explains). Thread-safe. */
public final class DecisionCounts {

    private final Map<DecisionReason, LongAdder> counts = new EnumMap<>(DecisionReason.class);

    public DecisionCounts() {
        for (DecisionReason reason : DecisionReason.values()) {
            counts.put(reason, new LongAdder());
        }
    }

    public void count(DecisionReason reason) {
        counts.get(reason).increment();
    }

    public long get(DecisionReason reason) {
        return counts.get(reason).sum();
    }
}
