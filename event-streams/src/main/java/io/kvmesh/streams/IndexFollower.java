package io.kvmesh.streams;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.jboss.logging.Logger;

import io.kvmesh.prefix.events.BlocksQueued;
import io.kvmesh.prefix.events.EventCodec;
import io.kvmesh.prefix.events.KvEvent;
import io.kvmesh.prefix.events.KvEventBatch;
import io.kvmesh.prefix.events.MalformedEventException;
import io.kvmesh.prefix.events.PodIndexSnapshot;
import io.kvmesh.prefix.events.PodStatus;
import io.kvmesh.prefix.index.ApplyOutcome;
import io.kvmesh.prefix.index.LivePods;
import io.kvmesh.prefix.index.PrefixIndex;

/**
 * Keeps a {@link PrefixIndex} and {@link LivePods} in step with a pool's topics: first every snapshot in
 * {@code kv-index} (optional), then {@code kv-events} from the snapshots' source offsets and {@code pod-status} from
 * its beginning, tailing both. Every router replica and the cache-index service run one; it reads all partitions
 * itself (no consumer group), so each holds the whole index (active-active).
 *
 * <p>A malformed record is logged, counted and skipped; it never stops the follower. Retirement by missed
 * heartbeats is checked on every poll; time in which the follower itself could not read (Kafka unreachable) does not
 * count as the pods' silence.
 */
public final class IndexFollower implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(IndexFollower.class);
    private static final Duration POLL = Duration.ofMillis(100);

    private final StreamSettings settings;
    private final PrefixIndex index;
    private final LivePods pods;
    private final boolean bootstrapFromSnapshots;
    private final FollowerListener listener;
    private final EventCodec codec = new EventCodec();
    private final CountDownLatch caughtUp = new CountDownLatch(1);
    private final AtomicLong batchesApplied = new AtomicLong();
    private final java.util.Map<ApplyOutcome, AtomicLong> outcomes = new java.util.EnumMap<>(ApplyOutcome.class);
    private final AtomicLong eventsApplied = new AtomicLong();
    private final AtomicLong malformedRecords = new AtomicLong();
    private final AtomicLong lag = new AtomicLong();
    private final Thread thread;
    private volatile KafkaConsumer<String, byte[]> consumer;
    private volatile boolean running = true;
    /** When the poll loop last came round ({@link System#nanoTime()}); 0 before the first round. */
    private long lastRoundNanos;

    public IndexFollower(StreamSettings settings, PrefixIndex index, LivePods pods, boolean bootstrapFromSnapshots,
                         FollowerListener listener) {
        this.settings = settings;
        this.index = index;
        this.pods = pods;
        this.bootstrapFromSnapshots = bootstrapFromSnapshots;
        this.listener = listener;
        for (ApplyOutcome outcome : ApplyOutcome.values()) {
            outcomes.put(outcome, new AtomicLong());
        }
        this.thread = Thread.ofPlatform().name("kvmesh-index-follower").daemon().unstarted(this::run);
    }

    public void start() {
        thread.start();
    }

    /** Waits until the snapshots are restored and the tails have reached the topics' ends once. */
    public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
        return caughtUp.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    public boolean isCaughtUp() {
        return caughtUp.getCount() == 0;
    }

    /** Batches that changed the index (applied, or applied after dropping a restarted or gapped pod's old state). */
    public long batchesApplied() {
        return batchesApplied.get();
    }

    /**
     * Batches read per outcome: {@code DUPLICATE} and {@code STALE_EPOCH} were ignored, {@code SEQ_GAP} and
     * {@code NEW_EPOCH} dropped the pod's older state first. A follower that started from the snapshots' offsets reads
     * no duplicates: nothing is applied twice.
     */
    public long outcomes(ApplyOutcome outcome) {
        return outcomes.get(outcome).get();
    }

    /** KV events (stores, removals, clears) inside the batches applied. */
    public long eventsApplied() {
        return eventsApplied.get();
    }

    public long malformedRecords() {
        return malformedRecords.get();
    }

    /** Records on {@code kv-events} and {@code pod-status} not yet read, as of the last poll. */
    public long lag() {
        return lag.get();
    }

    @Override
    public void close() {
        running = false;
        KafkaConsumer<String, byte[]> current = consumer;
        if (current != null) {
            current.wakeup();
        }
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        while (running) {
            try (KafkaConsumer<String, byte[]> kafka = newConsumer()) {
                consumer = kafka;
                follow(kafka);
            } catch (WakeupException e) {
                return;
            } catch (RuntimeException e) {
                if (!running) {
                    return;
                }
                LOG.warnf("index follower failed (%s); restarting from the snapshots in 2 s", e.toString());
                sleep(Duration.ofSeconds(2));
            }
        }
    }

    private void follow(KafkaConsumer<String, byte[]> kafka) {
        Map<Integer, Long> start = bootstrapFromSnapshots ? restoreSnapshots(kafka) : Map.of();
        List<TopicPartition> events = partitions(kafka, settings.topics().kvEvents());
        List<TopicPartition> statuses = partitions(kafka, settings.topics().podStatus());
        List<TopicPartition> all = new ArrayList<>(events);
        all.addAll(statuses);
        kafka.assign(all);
        kafka.seekToBeginning(statuses);
        for (TopicPartition partition : events) {
            Long offset = start.get(partition.partition());
            if (offset == null) {
                kafka.seekToBeginning(List.of(partition));
            } else {
                kafka.seek(partition, offset);
            }
        }
        Map<TopicPartition, Long> ends = kafka.endOffsets(all);
        Set<String> changed = new HashSet<>();
        while (running) {
            for (ConsumerRecord<String, byte[]> record : kafka.poll(POLL)) {
                if (record.topic().equals(settings.topics().kvEvents())) {
                    applyEvents(record, changed);
                } else {
                    applyStatus(record, changed);
                }
            }
            long round = System.nanoTime();
            if (isCaughtUp()) {
                // Only once every status has been read: before that a live pod may look silent.
                excuseUnwatchedSilence(round);
                changed.addAll(pods.expire(round / 1_000_000));
            }
            lastRoundNanos = round;
            long behind = 0;
            Map<Integer, Long> positions = new HashMap<>();
            for (TopicPartition partition : all) {
                long position = kafka.position(partition);
                if (partition.topic().equals(settings.topics().kvEvents())) {
                    positions.put(partition.partition(), position);
                }
                behind += Math.max(0, ends.getOrDefault(partition, 0L) - position);
            }
            if (behind == 0) {
                caughtUp.countDown();
            }
            if (isCaughtUp()) {
                ends = kafka.endOffsets(all);
                behind = 0;
                for (TopicPartition partition : all) {
                    behind += Math.max(0, ends.get(partition) - kafka.position(partition));
                }
            }
            lag.set(behind);
            listener.afterPoll(positions, changed);
            changed.clear();
        }
    }

    /**
     * When the loop has not come round for more than half the heartbeat timeout (the broker was down or unreachable and
     * a call waited for it, up to a minute, or the follower restarted after such a failure, or this process stalled),
     * no heartbeat could be read in that time, and the pods' producers need a moment to deliver what they buffered: a
     * pod's silence says nothing then, so every pod gets a whole timeout from now before missed heartbeats retire it.
     * Otherwise the first round after an outage would retire every live pod and forget the blocks it still holds
     * (its later events only add to an empty slate), leaving the index cold until the pod restarts.
     */
    private void excuseUnwatchedSilence(long now) {
        long unwatchedMillis = (now - lastRoundNanos) / 1_000_000;
        if (lastRoundNanos != 0 && unwatchedMillis > pods.heartbeatTimeoutMillis() / 2) {
            pods.excuseSilenceUntil(now / 1_000_000);
            LOG.warnf("no heartbeat could be read for %d ms (Kafka unreachable or this process stalled); every pod gets %d ms"
                    + " from now to be heard from before it is retired", unwatchedMillis, pods.heartbeatTimeoutMillis());
        }
    }

    private void applyEvents(ConsumerRecord<String, byte[]> record, Set<String> changed) {
        if (record.value() == null) {
            return;
        }
        try {
            KvEventBatch batch = codec.decodeBatch(record.value());
            ApplyOutcome outcome = index.apply(batch);
            outcomes.get(outcome).incrementAndGet();
            switch (outcome) {
                case DUPLICATE, STALE_EPOCH -> {
                    return;
                }
                case TOO_MANY_PODS -> {
                    LOG.debugf("pod %s: not indexed, the index already follows %d pods (counted)", batch.podId(), PrefixIndex.MAX_PODS);
                    return;
                }
                case SEQ_GAP -> {
                    LOG.warnf("pod %s: KV event batches missing before seq %d; its earlier blocks were dropped", batch.podId(), batch.seq());
                    changed.add(batch.podId());
                }
                default -> changed.add(batch.podId());
            }
            for (KvEvent event : batch.events()) {
                if (event instanceof BlocksQueued queued) {
                    listener.queued(batch.podId(), queued.blockHashes(), batch.ts());
                }
            }
            batchesApplied.incrementAndGet();
            eventsApplied.addAndGet(batch.events().size());
        } catch (MalformedEventException e) {
            skip(record, e);
        }
    }

    private void applyStatus(ConsumerRecord<String, byte[]> record, Set<String> changed) {
        if (record.value() == null) {
            if (record.key() != null && pods.tombstone(record.key())) {
                LOG.infof("pod %s shut down; retired", record.key());
            }
            if (record.key() != null) {
                changed.add(record.key());
            }
            return;
        }
        try {
            PodStatus status = codec.decodePodStatus(record.value());
            // A status read from history counts as seen when it was written, so a dead pod's last word expires.
            long age = Math.max(0, System.currentTimeMillis() - status.ts());
            long epochBefore = pods.status(status.podId()).map(PodStatus::epoch).orElse(status.epoch());
            pods.heartbeat(status, System.nanoTime() / 1_000_000 - age);
            if (status.epoch() != epochBefore) {
                changed.add(status.podId());
            }
        } catch (MalformedEventException e) {
            skip(record, e);
        }
    }

    private void skip(ConsumerRecord<String, byte[]> record, MalformedEventException e) {
        malformedRecords.incrementAndGet();
        LOG.warnf("skipping malformed record %s-%d@%d (key %s): %s", record.topic(), record.partition(), record.offset(),
                record.key(), e.getMessage());
    }

    /** Restores every pod's latest snapshot; returns, per kv-events partition, the offset to tail from. */
    private Map<Integer, Long> restoreSnapshots(KafkaConsumer<String, byte[]> kafka) {
        List<TopicPartition> partitions = partitions(kafka, settings.topics().kvIndex());
        kafka.assign(partitions);
        kafka.seekToBeginning(partitions);
        Map<TopicPartition, Long> ends = kafka.endOffsets(partitions);
        Map<String, PodIndexSnapshot> latest = new HashMap<>();
        while (partitions.stream().anyMatch(p -> kafka.position(p) < ends.get(p))) {
            for (ConsumerRecord<String, byte[]> record : kafka.poll(POLL)) {
                if (record.value() == null) {
                    latest.remove(record.key());
                    continue;
                }
                try {
                    PodIndexSnapshot snapshot = codec.decodeSnapshot(record.value());
                    latest.put(snapshot.podId(), snapshot);
                } catch (MalformedEventException e) {
                    skip(record, e);
                }
            }
        }
        Map<Integer, Long> start = new HashMap<>();
        for (PodIndexSnapshot snapshot : latest.values()) {
            index.restore(snapshot);
            snapshot.sourceOffsets().forEach((partition, offset) -> start.merge(partition, offset, Math::min));
        }
        LOG.infof("restored %d pod snapshots from %s", latest.size(), settings.topics().kvIndex());
        return start;
    }

    private List<TopicPartition> partitions(KafkaConsumer<String, byte[]> kafka, String topic) {
        while (running) {
            List<PartitionInfo> infos = kafka.partitionsFor(topic, Duration.ofSeconds(10));
            if (infos != null && !infos.isEmpty()) {
                return infos.stream().map(info -> new TopicPartition(topic, info.partition())).toList();
            }
            LOG.infof("waiting for topic %s", topic);
            sleep(Duration.ofSeconds(1));
        }
        throw new WakeupException();
    }

    private KafkaConsumer<String, byte[]> newConsumer() {
        Properties config = new Properties();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, "kvmesh-index-follower");
        // Catching up (a bootstrap, a restart) reads millions of block events: fewer, larger fetches keep the one
        // thread that decodes and applies them busy instead of waiting on round trips.
        config.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(8 << 20));
        config.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, String.valueOf(64 << 20));
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
        config.put(ConsumerConfig.RECEIVE_BUFFER_CONFIG, String.valueOf(1 << 20));
        return new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer());
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
