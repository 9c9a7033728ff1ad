package io.kvmesh.streams;

import java.time.Duration;
import java.util.Objects;

import io.kvmesh.prefix.events.PoolTopics;

/**
 * Where a pool's streams live: Kafka's bootstrap servers, the pool's topics, partitions for new topics, how long
 * {@code kv-events} are kept (the snapshots in {@code kv-index} hold the state), and whether services create missing
 * topics themselves (local mode and tests; in a cluster the operator creates them).
 */
public record StreamSettings(String bootstrapServers, PoolTopics topics, int partitions, Duration eventRetention,
                             boolean createTopics) {

    public StreamSettings {
        Objects.requireNonNull(bootstrapServers, "bootstrapServers");
        Objects.requireNonNull(topics, "topics");
        if (bootstrapServers.isBlank()) {
            throw new IllegalArgumentException("Kafka bootstrap servers must be set");
        }
        if (partitions < 1) {
            throw new IllegalArgumentException("partitions must be positive, got " + partitions);
        }
    }
}
