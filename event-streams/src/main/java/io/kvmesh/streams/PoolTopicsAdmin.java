package io.kvmesh.streams;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;

/** Creates a pool's three topics with the policies ARCHITECTURE.md gives them; existing topics are left alone. */
public final class PoolTopicsAdmin {

    private PoolTopicsAdmin() {
    }

    public static void ensureTopics(StreamSettings settings) {
        ensureTopics(settings, (short) -1, Duration.ofSeconds(30));
    }

    /**
     * As {@link #ensureTopics(StreamSettings)} with {@code replicationFactor} replicas per partition (-1: the brokers'
     * default), giving up after {@code timeout} (an unreachable broker is an {@link IllegalStateException} saying so).
     */
    public static void ensureTopics(StreamSettings settings, short replicationFactor, Duration timeout) {
        int millis = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers(),
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, millis,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, millis))) {
            List<NewTopic> topics = List.of(
                    new NewTopic(settings.topics().kvEvents(), settings.partitions(), replicationFactor).configs(Map.of(
                            TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE,
                            TopicConfig.RETENTION_MS_CONFIG, String.valueOf(settings.eventRetention().toMillis()))),
                    new NewTopic(settings.topics().podStatus(), settings.partitions(), replicationFactor).configs(Map.of(
                            TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)),
                    new NewTopic(settings.topics().kvIndex(), settings.partitions(), replicationFactor).configs(Map.of(
                            TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)));
            for (var result : admin.createTopics(topics).values().entrySet()) {
                try {
                    result.getValue().get(millis, TimeUnit.MILLISECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("cannot create topic " + result.getKey() + ": " + e.getCause().getMessage(), e);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("Kafka at " + settings.bootstrapServers() + " did not create the pool's topics in " + timeout.toSeconds() + " s", e);
        }
    }
}
