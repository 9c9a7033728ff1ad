package io.kvmesh.cacheindex.app;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import io.kvmesh.prefix.blocks.BlockHasher;
import io.kvmesh.prefix.index.LivePods;
import io.kvmesh.prefix.index.PrefixIndex;
import io.kvmesh.streams.IndexFollower;
import io.kvmesh.streams.KafkaConfig;
import io.kvmesh.streams.PoolTopicsAdmin;
import io.kvmesh.streams.SnapshotWriter;
import io.kvmesh.streams.StreamSettings;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;

/**
 * The pool's global prefix index: restored from {@code kv-index}, fed by every pod's {@code kv-events} and
 * {@code pod-status}, snapshotted back to {@code kv-index}. Pods are retired on tombstone, new epoch or missed
 * heartbeats.
 */
@ApplicationScoped
public class CacheIndex {

    private static final Logger LOG = Logger.getLogger(CacheIndex.class);

    private final IndexSettings settings;
    private final PrefixIndex index;
    private final LivePods pods;
    private final BlockHasher hasher;
    private SnapshotWriter writer;
    private IndexFollower follower;
    private ScheduledExecutorService sampler;
    private volatile double batchesPerSecond;
    private volatile double eventsPerSecond;
    private long lastBatches;
    private long lastEvents;

    CacheIndex(IndexSettings settings) {
        this.index = new PrefixIndex(settings.maxEntries());
        this.settings = settings;
        this.pods = new LivePods(index, settings.heartbeatTimeout().toMillis());
        this.hasher = new BlockHasher(settings.modelId(), settings.cacheSalt().orElse(""), settings.blockSize());
    }

    void start(@Observes StartupEvent startup) {
        IndexSettings.Kafka kafka = settings.kafka();
        StreamSettings streams = KafkaConfig.streamSettings(kafka);
        if (streams.createTopics()) {
            PoolTopicsAdmin.ensureTopics(streams);
        }
        writer = new SnapshotWriter(streams, index, settings.snapshotInterval(), settings.snapshotRefresh());
        follower = new IndexFollower(streams, index, pods, true, writer);
        follower.start();
        sampler = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("kvmesh-index-rate").daemon().factory());
        sampler.scheduleAtFixedRate(this::sample, 1, 1, TimeUnit.SECONDS);
        LOG.infof("cache index following %s.* on %s (heartbeat timeout %s)", kafka.topicPrefix(), kafka.bootstrapServers(),
                settings.heartbeatTimeout());
    }

    void stop(@Observes ShutdownEvent shutdown) {
        if (sampler != null) {
            sampler.shutdownNow();
        }
        if (follower != null) {
            follower.close();
        }
        if (writer != null) {
            writer.close();
        }
    }

    /** Once a second: rates over the last second. */
    private void sample() {
        long batches = follower.batchesApplied();
        long events = follower.eventsApplied();
        batchesPerSecond = batches - lastBatches;
        eventsPerSecond = events - lastEvents;
        lastBatches = batches;
        lastEvents = events;
    }

    public PrefixIndex index() {
        return index;
    }

    public LivePods pods() {
        return pods;
    }

    public BlockHasher hasher() {
        return hasher;
    }

    public IndexFollower follower() {
        return follower;
    }

    public SnapshotWriter writer() {
        return writer;
    }

    public double batchesPerSecond() {
        return batchesPerSecond;
    }

    public double eventsPerSecond() {
        return eventsPerSecond;
    }

    public Duration heartbeatTimeout() {
        return settings.heartbeatTimeout();
    }
}
