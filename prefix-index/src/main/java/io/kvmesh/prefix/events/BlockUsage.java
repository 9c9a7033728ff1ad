package io.kvmesh.prefix.events;

/** Used and total KV blocks of one tier of a pod. */
public record BlockUsage(long used, long total) {

    public BlockUsage {
        if (used < 0 || total < 0 || used > total) {
            throw new IllegalArgumentException("block usage must satisfy 0 <= used <= total, got " + used + "/" + total);
        }
    }

    /** Fraction in use, 0 when the tier has no blocks. */
    public double fraction() {
        return total == 0 ? 0.0 : (double) used / total;
    }
}
