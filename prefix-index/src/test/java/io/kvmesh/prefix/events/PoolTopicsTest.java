package io.kvmesh.prefix.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PoolTopicsTest {

    @Test
    void namesFollowTheNamespaceAndPool() {
        PoolTopics topics = PoolTopics.forPool("default", "llama");
        assertThat(topics.kvEvents()).isEqualTo("kvmesh.default.llama.kv-events");
        assertThat(topics.podStatus()).isEqualTo("kvmesh.default.llama.pod-status");
        assertThat(topics.kvIndex()).isEqualTo("kvmesh.default.llama.kv-index");
    }

    @Test
    void rejectsNamesKafkaWouldRefuse() {
        assertThatThrownBy(() -> PoolTopics.forPool("team a", "llama")).hasMessageContaining("[a-zA-Z0-9._-]");
        assertThatThrownBy(() -> new PoolTopics("x".repeat(239))).hasMessageContaining("1 to 238 characters");
    }
}
