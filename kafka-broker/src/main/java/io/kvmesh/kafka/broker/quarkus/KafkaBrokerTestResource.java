package io.kvmesh.kafka.broker.quarkus;

import java.util.Map;

import io.kvmesh.kafka.broker.KafkaBroker;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * Gives a {@code @QuarkusTest} a real Kafka broker: {@code @QuarkusTestResource(KafkaBrokerTestResource.class)}.
 * Sets {@code kvmesh.kafka.bootstrap-servers} (and {@code kafka.bootstrap.servers}) for the application.
 */
public final class KafkaBrokerTestResource implements QuarkusTestResourceLifecycleManager {

    private KafkaBroker broker;

    @Override
    public Map<String, String> start() {
        broker = KafkaBroker.start();
        return Map.of("kvmesh.kafka.bootstrap-servers", broker.bootstrapServers(),
                "kafka.bootstrap.servers", broker.bootstrapServers());
    }

    @Override
    public void stop() {
        if (broker != null) {
            broker.close();
        }
    }
}
