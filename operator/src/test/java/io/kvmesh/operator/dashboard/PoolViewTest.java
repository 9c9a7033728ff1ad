package io.kvmesh.operator.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.kvmesh.operator.crd.v1alpha1.InferencePool;
import io.kvmesh.operator.crd.v1alpha1.InferencePoolStatus;
import io.kvmesh.operator.telemetry.PoolTelemetry;
import io.kvmesh.prefix.events.BlockUsage;
import io.kvmesh.prefix.events.PodStatus;

/** What the dashboard's API says of a pool, from its resource and what its pods report. */
class PoolViewTest {

    private static final long NOW = 1_700_000_000_000L;

    @Test
    void aPoolTheOperatorDoesNotFollowYetHasItsSpecAndNoTelemetry() {
        InferencePool pool = TestPools.pool("team-a", "llama-chat", 3, "kafka:9092", null);
        pool.getMetadata().setGeneration(2L);

        PoolView view = PoolView.of(pool, Optional.empty(), null, 5_000, NOW);

        assertThat(view.namespace()).isEqualTo("team-a");
        assertThat(view.name()).isEqualTo("llama-chat");
        assertThat(view.generation()).isEqualTo(2);
        assertThat(view.spec()).isEqualTo(new PoolView.Spec("llama-3.2-1b-instruct", 3, "sim", "prefix-aware", 1));
        assertThat(view.status().conditions()).isEmpty();
        assertThat(view.telemetry().followed()).isFalse();
        assertThat(view.pods()).isEmpty();
        assertThat(view.history().ts()).isEmpty();
        assertThat(view.routingMix()).isEmpty();
    }

    @Test
    void livePodsHistoryAndRoutingMixComeFromTheTelemetry() {
        InferencePool pool = TestPools.pool("team-a", "llama-chat", 2, "kafka:9092", null);
        PoolTelemetry telemetry = new PoolTelemetry(5_000, 100);
        telemetry.heartbeat(pod("pod-b", true, 30, 100, 0.5, NOW - 4_000));
        telemetry.sample(NOW - 4_000);
        telemetry.heartbeat(pod("pod-a", true, 10, 100, 0.25, NOW - 200));
        telemetry.heartbeat(pod("pod-stale", true, 10, 100, 0.25, NOW - 60_000));
        telemetry.sample(NOW);
        telemetry.routingDecisions(Map.of("prefix", 12L, "no-match", 3L));

        PoolView view = PoolView.of(pool, Optional.of(telemetry), "topic has no partitions yet", 5_000, NOW);

        assertThat(view.telemetry()).isEqualTo(new PoolView.Telemetry(true, "topic has no partitions yet", 5_000));
        assertThat(view.pods()).extracting(PoolView.Pod::id).containsExactly("pod-a", "pod-b");
        PoolView.Pod a = view.pods().getFirst();
        assertThat(a.kvBlocksUsed()).isEqualTo(10);
        assertThat(a.kvBlocksTotal()).isEqualTo(100);
        assertThat(a.kvUsage()).isEqualTo(0.1);
        assertThat(a.prefixHitRate()).isEqualTo(0.25);
        assertThat(a.heartbeatAgeMillis()).isEqualTo(200);
        assertThat(a.address()).isEqualTo("10.0.0.1:8000");
        assertThat(view.history().ts()).containsExactly(NOW - 4_000, NOW);
        assertThat(view.history().livePods()).containsExactly(1, 2);
        assertThat(view.history().kvCacheUsage().getLast()).isCloseTo(0.2, within(1e-9));
        assertThat(view.history().prefixHitRate().getLast()).isCloseTo(0.375, within(1e-9));
        assertThat(view.routingMix()).containsEntry("prefix", 12L).containsEntry("no-match", 3L);
    }

    @Test
    void conditionsKeepReasonMessageAndTransitionTime() {
        InferencePool pool = TestPools.pool("team-a", "llama-chat", 1, "kafka:9092", null);
        InferencePoolStatus status = new InferencePoolStatus();
        status.setPodsReady("0/1");
        status.setEndpoint("http://llama-chat-router.team-a.svc:8080/v1");
        status.setConditions(List.of(new ConditionBuilder().withType("Ready").withStatus("False")
                .withReason("NoRouterReady").withMessage("no router pod is ready yet")
                .withLastTransitionTime("2025-01-01T00:00:00Z").build()));
        pool.setStatus(status);

        PoolView view = PoolView.of(pool, Optional.empty(), null, 5_000, NOW);

        assertThat(view.status().podsReady()).isEqualTo("0/1");
        assertThat(view.status().endpoint()).endsWith(".svc:8080/v1");
        assertThat(view.status().conditions()).containsExactly(new PoolView.ConditionView("Ready", "False",
                "NoRouterReady", "no router pod is ready yet", "2025-01-01T00:00:00Z"));
    }

    private static PodStatus pod(String id, boolean ready, long usedBlocks, long totalBlocks, double hitRate, long ts) {
        String address = "10.0.0." + (id.charAt(id.length() - 1) - 'a' + 1) + ":8000";
        return new PodStatus(id, 1, address, "llama-3.2-1b-instruct", 16, ready, 1, 0, 0,
                new BlockUsage(usedBlocks, totalBlocks), new BlockUsage(0, 0), hitRate, 50, 2, ts);
    }
}
