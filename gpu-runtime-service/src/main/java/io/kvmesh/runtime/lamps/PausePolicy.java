package io.kvmesh.runtime.lamps;

import java.util.Locale;

/**
 * What a pod does with a paused request's KV blocks ({@code kvmesh.lamps.policy}): always {@code keep}, always
 * {@code discard}, always {@code swap} (discard when the host tier is full), {@code infercept} (the least predicted
 * memory waste per pause, waiting queue in arrival order) or {@code lamps} (the same decision, waiting queue by
 * predicted memory × time with starvation protection).
 */
public enum PausePolicy {
    KEEP, DISCARD, SWAP, INFERCEPT, LAMPS;

    public static PausePolicy parse(String name) {
        for (PausePolicy policy : values()) {
            if (policy.configName().equals(name.trim().toLowerCase(Locale.ROOT))) {
                return policy;
            }
        }
        throw new IllegalArgumentException("kvmesh.lamps.policy=" + name + " is not one of keep, discard, swap, infercept, lamps");
    }

    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The choice a fixed policy always makes; null for the waste-minimising ones. */
    public PauseChoice fixedChoice() {
        return switch (this) {
            case KEEP -> PauseChoice.KEEP;
            case DISCARD -> PauseChoice.DISCARD;
            case SWAP -> PauseChoice.SWAP;
            case INFERCEPT, LAMPS -> null;
        };
    }

    /** Whether the waiting queue is ordered by predicted memory × time (else by arrival). */
    public boolean ordersByMemoryTime() {
        return this == LAMPS;
    }
}
