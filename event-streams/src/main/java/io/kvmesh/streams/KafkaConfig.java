package io.kvmesh.streams;

import java.time.Duration;

import io.kvmesh.prefix.events.PoolTopics;
import io.smallrye.config.WithDefault;

/**
 * The {@code kvmesh.kafka.*} configuration group every service shares (a SmallRye config-mapping group; the services
 * nest it in their own mapping). {@link #streamSettings(KafkaConfig)} turns it into {@link StreamSettings}.
 */
public interface KafkaConfig {

    @WithDefault("localhost:9092")
    String bootstrapServers();

    /** The pool's topic prefix: topics are PREFIX.kv-events, PREFIX.pod-status, PREFIX.kv-index. */
    @WithDefault("kvmesh.default.local")
    String topicPrefix();

    /** Partitions of topics this service creates. */
    @WithDefault("4")
    int partitions();

    /** Create missing topics at start (local mode, tests); the operator creates them in a cluster. */
    @WithDefault("true")
    boolean createTopics();

    /** How long KV events are kept when this service creates the topic; the kv-index snapshots hold the state. */
    @WithDefault("1h")
    Duration eventRetention();

    static StreamSettings streamSettings(KafkaConfig kafka) {
        return new StreamSettings(kafka.bootstrapServers(), new PoolTopics(kafka.topicPrefix()), kafka.partitions(),
                kafka.eventRetention(), kafka.createTopics());
    }
}
