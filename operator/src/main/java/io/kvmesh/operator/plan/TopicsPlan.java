package io.kvmesh.operator.plan;

/** A pool's three topics: where, under which prefix, how many partitions and replicas, how long kv-events lives. */
public record TopicsPlan(String bootstrapServers, String prefix, int partitions, Integer replicationFactor,
                         String eventRetention) {
}
