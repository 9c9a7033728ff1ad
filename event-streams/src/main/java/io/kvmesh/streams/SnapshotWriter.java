package io.kvmesh.streams;

import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import io.kvmesh.prefix.events.EventCodec;
import io.kvmesh.prefix.events.PodIndexSnapshot;
import io.kvmesh.prefix.index.PrefixIndex;

/**
 * The cache-index service's writer of {@code kv-index}: at most every {@code interval}, a snapshot of each pod whose
 * state changed (a tombstone for a retired one), stamped with the {@code kv-events} positions the follower has applied
 * up to. Every {@code refresh} it rewrites all pods, so readers bootstrapping from the topic never start far behind.
 * Runs on the follower's thread ({@link FollowerListener}), so a snapshot and its positions always agree.
 */
public final class SnapshotWriter implements FollowerListener, AutoCloseable {

    private final StreamSettings settings;
    private final PrefixIndex index;
    private final long intervalNanos;
    private final long refreshNanos;
    private final KafkaProducer<String, byte[]> producer;
    private final EventCodec codec = new EventCodec();
    private final Set<String> pending = new HashSet<>();
    private final AtomicLong snapshotsWritten = new AtomicLong();
    private long lastWrite = System.nanoTime();
    private long lastRefresh = System.nanoTime();

    public SnapshotWriter(StreamSettings settings, PrefixIndex index, Duration interval, Duration refresh) {
        this.settings = settings;
        this.index = index;
        this.intervalNanos = interval.toNanos();
        this.refreshNanos = refresh.toNanos();
        Properties config = new Properties();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        config.put(ProducerConfig.CLIENT_ID_CONFIG, "kvmesh-snapshot-writer");
        this.producer = new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer());
    }

    public long snapshotsWritten() {
        return snapshotsWritten.get();
    }

    @Override
    public void afterPoll(Map<Integer, Long> kvEventPositions, Set<String> changedPods) {
        pending.addAll(changedPods);
        long now = System.nanoTime();
        if (now - lastRefresh >= refreshNanos) {
            pending.addAll(index.pods());
            lastRefresh = now;
        }
        if (pending.isEmpty() || now - lastWrite < intervalNanos) {
            return;
        }
        for (String podId : pending) {
            Optional<PodIndexSnapshot> snapshot = index.snapshot(podId, kvEventPositions);
            byte[] value = snapshot.map(codec::encode).orElse(null);
            producer.send(new ProducerRecord<>(settings.topics().kvIndex(), podId, value));
            snapshotsWritten.incrementAndGet();
        }
        producer.flush();
        pending.clear();
        lastWrite = now;
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(5));
    }
}
