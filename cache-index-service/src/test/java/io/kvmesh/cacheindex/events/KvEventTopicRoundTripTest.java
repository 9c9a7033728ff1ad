package io.kvmesh.cacheindex.events;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.kvmesh.kafka.broker.KafkaBroker;
import io.kvmesh.kafka.broker.junit.KafkaBrokerExtension;
import io.kvmesh.prefix.blocks.BlockHasher;
import io.kvmesh.prefix.events.BlockRemoved;
import io.kvmesh.prefix.events.BlockStored;
import io.kvmesh.prefix.events.EventCodec;
import io.kvmesh.prefix.events.KvEvent;
import io.kvmesh.prefix.events.KvEventBatch;
import io.kvmesh.prefix.events.Medium;
import io.kvmesh.prefix.events.PoolTopics;

/**
 * KV event batches of several pods, keyed by pod id, through a compacted multi-partition topic on a real broker:
 * each pod's batches come back complete and in {@code seq} order, byte-for-byte decodable.
 */
@ExtendWith(KafkaBrokerExtension.class)
class KvEventTopicRoundTripTest {

    private static final int PODS = 6;
    private static final int BATCHES_PER_POD = 50;

    private final EventCodec codec = new EventCodec();
    private final BlockHasher hasher = new BlockHasher("llama-test", "", 16);

    @Test
    void batchesComeBackInPerPodOrder(KafkaBroker broker) throws Exception {
        String topic = PoolTopics.forPool("test", "round-trip").kvEvents();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(topic, 4, (short) 1)
                    .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT))))
                    .all().get(30, TimeUnit.SECONDS);
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            assertThat(admin.describeConfigs(List.of(resource)).all().get(30, TimeUnit.SECONDS).get(resource)
                    .get(TopicConfig.CLEANUP_POLICY_CONFIG).value()).isEqualTo("compact");
        }

        Map<String, List<KvEventBatch>> sent = new LinkedHashMap<>();
        Properties producerConfig = new Properties();
        producerConfig.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        producerConfig.put(ProducerConfig.ACKS_CONFIG, "all");
        producerConfig.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        producerConfig.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(producerConfig, new StringSerializer(), new ByteArraySerializer())) {
            // Interleave the pods so that order within a pod is all the key can give.
            for (int seq = 0; seq < BATCHES_PER_POD; seq++) {
                for (int pod = 0; pod < PODS; pod++) {
                    KvEventBatch batch = batch("pod-" + pod, seq);
                    sent.computeIfAbsent(batch.podId(), id -> new ArrayList<>()).add(batch);
                    producer.send(new ProducerRecord<>(topic, batch.podId(), codec.encode(batch)));
                }
            }
            producer.flush();
        }

        Map<String, List<KvEventBatch>> received = new HashMap<>();
        Properties consumerConfig = new Properties();
        consumerConfig.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        consumerConfig.put(ConsumerConfig.GROUP_ID_CONFIG, "round-trip-test");
        consumerConfig.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(consumerConfig, new StringDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            int count = 0;
            while (count < PODS * BATCHES_PER_POD && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    KvEventBatch batch = codec.decodeBatch(record.value());
                    assertThat(record.key()).isEqualTo(batch.podId());
                    received.computeIfAbsent(batch.podId(), id -> new ArrayList<>()).add(batch);
                    count++;
                }
            }
        }

        assertThat(received).containsOnlyKeys(sent.keySet());
        for (String pod : sent.keySet()) {
            assertThat(received.get(pod)).as(pod).containsExactlyElementsOf(sent.get(pod));
        }
    }

    private KvEventBatch batch(String podId, int seq) {
        int[] tokens = new int[32];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = podId.hashCode() + seq * 31 + i & 0x7fff;
        }
        long[] hashes = hasher.hashFullBlocks(tokens);
        List<KvEvent> events = seq % 3 == 2
                ? List.of(new BlockRemoved(hashes, Medium.DEVICE))
                : List.of(new BlockStored(hashes, null, tokens, 16, seq % 3 == 0 ? Medium.DEVICE : Medium.HOST));
        return new KvEventBatch(podId, 1_000L, seq, System.currentTimeMillis(), events);
    }
}
