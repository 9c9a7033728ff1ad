package io.kvmesh.kafka.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
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
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/** The launcher against a real broker process: start, produce, crash, restart on the same data, stop. */
class KafkaBrokerTest {

    @Test
    void survivesKillAndRestartWithItsData() throws Exception {
        try (KafkaBroker broker = KafkaBroker.start()) {
            long firstPid = broker.pid();
            assertThat(ProcessHandle.of(firstPid).map(ProcessHandle::isAlive)).contains(true);
            assertThat(ProcessHandle.current().pid()).isNotEqualTo(firstPid);

            createTopic(broker, "durable", 2);
            produce(broker, "durable", 0, 50);

            broker.kill();
            assertThat(broker.isRunning()).isFalse();
            assertThat(ProcessHandle.of(firstPid).map(ProcessHandle::isAlive).orElse(false)).isFalse();

            broker.restart();
            assertThat(broker.pid()).isNotEqualTo(firstPid);
            produce(broker, "durable", 50, 50);
            assertThat(readAll(broker, "durable", 100)).hasSize(100);

            broker.stop();
            assertThat(broker.isRunning()).isFalse();
            assertThat(Files.readString(broker.logFile(), StandardCharsets.UTF_8)).contains("Kafka Server started");
        }
    }

    @Test
    void closeDeletesATemporaryDataDirectory() {
        KafkaBroker broker = KafkaBroker.start();
        var data = broker.dataDirectory();
        assertThat(data.resolve("server.properties")).exists();
        broker.close();
        assertThat(data).doesNotExist();
        assertThatThrownBy(broker::pid).hasMessageContaining("not running");
    }

    @Test
    void theBrokerExitsWhenItsLauncherDies() throws Exception {
        // A launcher JVM that starts a broker, prints its pid, then is killed with SIGKILL: no orphan may remain.
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process launcher = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                "-Dio.kvmesh.maven-repo=" + BrokerClasspath.localRepository(),
                OrphanLauncher.class.getName())
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        long brokerPid;
        Path data;
        try (var out = new java.io.BufferedReader(new java.io.InputStreamReader(launcher.getInputStream(), StandardCharsets.UTF_8))) {
            brokerPid = Long.parseLong(out.readLine().trim());
            data = Path.of(out.readLine().trim());
            assertThat(ProcessHandle.of(brokerPid).map(ProcessHandle::isAlive)).contains(true);
            launcher.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
        ProcessHandle broker = ProcessHandle.of(brokerPid).orElse(null);
        if (broker != null) {
            assertThat(broker.onExit().get(60, TimeUnit.SECONDS).isAlive()).isFalse();
        }
        assertThat(Files.readString(data.resolve("broker.log"), StandardCharsets.UTF_8))
                .contains("launching process is gone");
        try (var files = Files.walk(data)) {
            files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        }
    }

    /** Runs in a child JVM for {@link #theBrokerExitsWhenItsLauncherDies()}. */
    public static final class OrphanLauncher {
        public static void main(String[] args) throws Exception {
            KafkaBroker broker = KafkaBroker.start();
            System.out.println(broker.pid());
            System.out.println(broker.dataDirectory());
            System.out.flush();
            Thread.sleep(Duration.ofMinutes(5));
        }
    }

    private static void createTopic(KafkaBroker broker, String name, int partitions) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
    }

    private static void produce(KafkaBroker broker, String topic, int from, int count) throws Exception {
        Properties config = new Properties();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(config, new StringSerializer(), new StringSerializer())) {
            for (int i = from; i < from + count; i++) {
                producer.send(new ProducerRecord<>(topic, "key-" + (i % 5), "value-" + i));
            }
            producer.flush();
        }
    }

    private static List<String> readAll(KafkaBroker broker, String topic, int expected) {
        Properties config = new Properties();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            List<String> values = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (values.size() < expected && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                    values.add(record.value());
                }
            }
            assertThat(Set.copyOf(values)).hasSize(values.size());
            return values;
        }
    }
}
