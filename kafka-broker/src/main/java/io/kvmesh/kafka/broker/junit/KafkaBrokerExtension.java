package io.kvmesh.kafka.broker.junit;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

import io.kvmesh.kafka.broker.KafkaBroker;

/**
 * Gives a test class a real Kafka broker: {@code @ExtendWith(KafkaBrokerExtension.class)}, then take a
 * {@link KafkaBroker} parameter in a test, constructor or lifecycle method.
 *
 * <p>One broker serves every test class of the JVM (starting one takes seconds); it is stopped when the test run
 * ends. It also sets the system property {@code kafka.bootstrap.servers}. Tests that kill or restart a broker start
 * their own with {@link KafkaBroker#start()} so they do not disturb the others; tests sharing this one should use
 * topic names of their own.
 */
public final class KafkaBrokerExtension implements BeforeAllCallback, ParameterResolver {

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(KafkaBrokerExtension.class);

    @Override
    public void beforeAll(ExtensionContext context) {
        broker(context);
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == KafkaBroker.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        return broker(context);
    }

    private static KafkaBroker broker(ExtensionContext context) {
        SharedBroker shared = context.getRoot().getStore(NAMESPACE)
                .getOrComputeIfAbsent(SharedBroker.class, type -> new SharedBroker(KafkaBroker.start()), SharedBroker.class);
        System.setProperty("kafka.bootstrap.servers", shared.broker.bootstrapServers());
        return shared.broker;
    }

    /** Closed by JUnit when the root context closes, at the end of the run. */
    private record SharedBroker(KafkaBroker broker) implements AutoCloseable {
        @Override
        public void close() {
            broker.close();
        }
    }
}
