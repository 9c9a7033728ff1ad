package io.kvmesh.streams;

import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jboss.logging.Logger;

import io.kvmesh.prefix.events.EventCodec;
import io.kvmesh.prefix.events.KvEventBatch;
import io.kvmesh.prefix.events.PodStatus;

/**
 * A runtime pod's producer: KV event batches to {@code kv-events} and heartbeats to {@code pod-status}, keyed by pod
 * id, with {@code acks=all} and idempotence so per-pod order and exactly-one delivery per send hold across retries.
 */
public final class PodEventPublisher implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(PodEventPublisher.class);

    private final StreamSettings settings;
    private final KafkaProducer<String, byte[]> producer;
    private final EventCodec codec = new EventCodec();

    public PodEventPublisher(StreamSettings settings) {
        this.settings = settings;
        Properties config = new Properties();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        config.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        config.put(ProducerConfig.CLIENT_ID_CONFIG, "kvmesh-pod-publisher");
        this.producer = new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer());
    }

    public void publish(KvEventBatch batch) {
        producer.send(new ProducerRecord<>(settings.topics().kvEvents(), batch.podId(), codec.encode(batch)), (meta, error) -> {
            if (error != null) {
                LOG.warnf("KV event batch %s/%d of pod %s was not delivered: %s", batch.epoch(), batch.seq(), batch.podId(), error.getMessage());
            }
        });
    }

    public void publish(PodStatus status) {
        producer.send(new ProducerRecord<>(settings.topics().podStatus(), status.podId(), codec.encode(status)));
    }

    /** The clean-shutdown tombstone: consumers retire the pod at once instead of waiting for the heartbeat timeout. */
    public void tombstone(String podId) {
        try {
            producer.send(new ProducerRecord<>(settings.topics().podStatus(), podId, null)).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.warnf("status tombstone of pod %s was not delivered: %s", podId, e.getMessage());
        }
    }

    @Override
    public void close() {
        producer.close(java.time.Duration.ofSeconds(5));
    }
}
