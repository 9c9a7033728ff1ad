package io.kvmesh.operator.telemetry;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.jboss.logging.Logger;

import io.kvmesh.prefix.events.EventCodec;
import io.kvmesh.prefix.events.MalformedEventException;

/**
 * Reads one pool's {@code pod-status} topic from the beginning (it is compacted: one record per pod) into a
 * {@link PoolTelemetry}, on its own thread, without a consumer group (every operator replica reads all of it). A
 * malformed record is counted and skipped; an unreachable broker is retried by the client, and {@link #lastError()}
 * says what failed last.
 */
public final class PodStatusWatcher implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(PodStatusWatcher.class);

    private final String topic;
    private final Map<String, Object> config;
    /** Made on the watcher's thread: construction fails on an unresolvable bootstrap address, and is retried. */
    private volatile KafkaConsumer<String, byte[]> consumer;
    private final PoolTelemetry telemetry;
    private final Thread thread;
    private final EventCodec codec = new EventCodec();
    private final AtomicLong malformed = new AtomicLong();
    private volatile boolean running = true;
    private volatile String lastError;

    public PodStatusWatcher(String bootstrapServers, String topic, PoolTelemetry telemetry) {
        this.topic = topic;
        this.telemetry = telemetry;
        this.config = Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ConsumerConfig.CLIENT_ID_CONFIG, "kvmesh-operator-" + UUID.randomUUID(),
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000,
                ConsumerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 10_000);
        this.thread = Thread.ofPlatform().name("pod-status-" + topic).daemon().start(this::run);
    }

    private void run() {
        List<TopicPartition> partitions = null;
        while (running) {
            try {
                if (consumer == null) {
                    consumer = new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer());
                }
                if (partitions == null) {
                    partitions = consumer.partitionsFor(topic, Duration.ofSeconds(10)).stream()
                            .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
                    if (partitions.isEmpty()) {
                        partitions = null;
                        lastError = "topic " + topic + " has no partitions yet";
                        Thread.sleep(2_000);
                        continue;
                    }
                    consumer.assign(partitions);
                    consumer.seekToBeginning(partitions);
                    lastError = null;
                }
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    apply(record);
                }
            } catch (WakeupException e) {
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                lastError = e.getCause() == null ? e.getMessage() : e.getMessage() + ": " + e.getCause().getMessage();
                LOG.debugf("pod-status %s: %s", topic, e.getMessage());
                try {
                    Thread.sleep(2_000);
                } catch (InterruptedException interrupted) {
                    return;
                }
            }
        }
    }

    private void apply(ConsumerRecord<String, byte[]> record) {
        if (record.value() == null) {
            if (record.key() != null) {
                telemetry.gone(record.key());
            }
            return;
        }
        try {
            telemetry.heartbeat(codec.decodePodStatus(record.value()));
        } catch (MalformedEventException e) {
            malformed.incrementAndGet();
            LOG.debugf("pod-status %s offset %d: %s", topic, record.offset(), e.getMessage());
        }
    }

    public long malformedRecords() {
        return malformed.get();
    }

    /** What failed last (no topic yet, broker unreachable...), or null while reading works. */
    public String lastError() {
        return lastError;
    }

    @Override
    public void close() {
        running = false;
        KafkaConsumer<String, byte[]> current = consumer;
        if (current != null) {
            current.wakeup();
        }
        thread.interrupt();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (consumer != null) {
            consumer.close(Duration.ofSeconds(2));
        }
    }
}
