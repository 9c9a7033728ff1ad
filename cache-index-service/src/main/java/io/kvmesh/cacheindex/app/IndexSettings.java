package io.kvmesh.cacheindex.app;

import java.time.Duration;
import java.util.Optional;

import io.kvmesh.streams.KafkaConfig;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

/** Every configuration key of the cache-index service (prefix {@code kvmesh}). */
@ConfigMapping(prefix = "kvmesh")
public interface IndexSettings {

    /** Model id used to hash token ids given to {@code POST /index/match}. */
    @WithDefault("kvmesh-sim")
    String modelId();

    /** Block size used to hash token ids given to {@code POST /index/match}. */
    @WithDefault("16")
    int blockSize();

    /** Cache salt used to hash token ids given to {@code POST /index/match}. */
    Optional<String> cacheSalt();

    /** (pod, block) entries the index holds at most (~80 B each); beyond it the largest pod's oldest are evicted. */
    @WithName("index.max-entries")
    @WithDefault("10000000")
    long maxEntries();

    /** A pod with no heartbeat for this long is retired with all its blocks. */
    @WithDefault("3s")
    Duration heartbeatTimeout();

    /** Changed pods' snapshots are written to kv-index at most this often. */
    @WithDefault("1s")
    Duration snapshotInterval();

    /** Every pod's snapshot is rewritten this often, so readers start close to the end of kv-events. */
    @WithDefault("60s")
    Duration snapshotRefresh();

    Kafka kafka();

    interface Kafka extends KafkaConfig {
    }
}
