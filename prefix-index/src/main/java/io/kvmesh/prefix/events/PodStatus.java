package io.kvmesh.prefix.events;

import java.util.Objects;

/**
 * A pod's heartbeat on {@code pod-status} (keyed by pod id, every 500 ms; a tombstone on clean shutdown).
 * {@code running}, {@code waiting} and {@code paused} count requests; {@code prefixHitRate} is cached prompt
 * tokens over prompt tokens; {@code tokensPerSecond} and {@code requestsPerSecond} are generated tokens and finished
 * requests per second since the previous heartbeat; {@code ts} is epoch milliseconds.
 */
public record PodStatus(
        String podId,
        long epoch,
        String address,
        String modelId,
        int blockSize,
        boolean ready,
        int running,
        int waiting,
        int paused,
        BlockUsage deviceBlocks,
        BlockUsage hostBlocks,
        double prefixHitRate,
        double tokensPerSecond,
        double requestsPerSecond,
        long ts) {

    /** A heartbeat without a request rate (older pods, tests that do not care). */
    public PodStatus(String podId, long epoch, String address, String modelId, int blockSize, boolean ready, int running,
                     int waiting, int paused, BlockUsage deviceBlocks, BlockUsage hostBlocks, double prefixHitRate,
                     double tokensPerSecond, long ts) {
        this(podId, epoch, address, modelId, blockSize, ready, running, waiting, paused, deviceBlocks, hostBlocks,
                prefixHitRate, tokensPerSecond, 0.0, ts);
    }

    public PodStatus {
        Objects.requireNonNull(podId, "podId");
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(modelId, "modelId");
        Objects.requireNonNull(deviceBlocks, "deviceBlocks");
        Objects.requireNonNull(hostBlocks, "hostBlocks");
        if (podId.isEmpty()) {
            throw new IllegalArgumentException("podId must not be empty");
        }
        if (blockSize < 1) {
            throw new IllegalArgumentException("blockSize must be positive, got " + blockSize);
        }
        if (running < 0 || waiting < 0 || paused < 0) {
            throw new IllegalArgumentException("request counts must not be negative");
        }
        if (!(prefixHitRate >= 0.0 && prefixHitRate <= 1.0)) {
            throw new IllegalArgumentException("prefixHitRate must be within 0..1, got " + prefixHitRate);
        }
        if (!(tokensPerSecond >= 0.0) || Double.isInfinite(tokensPerSecond)) {
            throw new IllegalArgumentException("tokensPerSecond must be a finite non-negative number, got " + tokensPerSecond);
        }
        if (!(requestsPerSecond >= 0.0) || Double.isInfinite(requestsPerSecond)) {
            throw new IllegalArgumentException("requestsPerSecond must be a finite non-negative number, got " + requestsPerSecond);
        }
    }
}
