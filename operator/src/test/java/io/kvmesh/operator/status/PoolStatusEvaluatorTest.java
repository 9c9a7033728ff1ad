package io.kvmesh.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.fabric8.kubernetes.api.model.Condition;
import io.kvmesh.operator.crd.v1alpha1.InferencePoolStatus;
import io.kvmesh.operator.status.PoolStatusEvaluator.Observation;
import io.kvmesh.operator.status.PoolStatusEvaluator.Rollout;
import io.kvmesh.operator.telemetry.PoolTelemetry;

class PoolStatusEvaluatorTest {

    private static final Instant T0 = Instant.parse("2026-11-25T10:00:00Z");
    private final PoolStatusEvaluator evaluator = new PoolStatusEvaluator();

    private static Observation observe(Rollout runtime, Rollout router, String kafka, String tenants, List<String> problems, Instant now) {
        return new Observation(2, problems, kafka, tenants, runtime, router, new Rollout("p-cache-index", 1, 1, 1, 1, 1L, "NewReplicaSetAvailable"),
                "http://p-router.ns.svc:8080/v1", "sel", Optional.of(new PoolTelemetry.Summary(now.toEpochMilli(), 2, 2, 3, 1,
                0.6666, 0.25, 12.5, 300)), now);
    }

    private static Condition condition(InferencePoolStatus status, String type) {
        return status.getConditions().stream().filter(c -> c.getType().equals(type)).findFirst().orElseThrow();
    }

    private static String summary(InferencePoolStatus status, String type) {
        Condition c = condition(status, type);
        return c.getStatus() + "/" + c.getReason();
    }

    @Test
    void aPoolRollsOutThenServes() {
        InferencePoolStatus fresh = evaluator.evaluate(observe(null, null, null, null, List.of(), T0), null);
        assertThat(summary(fresh, "Ready")).isEqualTo("False/NoRouterReady");
        assertThat(summary(fresh, "Progressing")).isEqualTo("True/RollingOut");
        assertThat(summary(fresh, "Degraded")).isEqualTo("False/AsExpected");
        assertThat(fresh.getPodsReady()).isEqualTo("0/0");

        InferencePoolStatus starting = evaluator.evaluate(observe(new Rollout("p-runtime", 2, 0, 2, 1, 1L, "ReplicaSetUpdated"),
                new Rollout("p-router", 1, 1, 1, 1, 1L, "NewReplicaSetAvailable"), null, null, List.of(), T0.plusSeconds(5)), fresh);
        assertThat(summary(starting, "Ready")).isEqualTo("False/NoRuntimePodReady");
        assertThat(condition(starting, "Progressing").getMessage()).contains("p-runtime 0/2 ready");
        assertThat(condition(starting, "Progressing").getLastTransitionTime()).as("still progressing: unchanged")
                .isEqualTo(T0.toString());

        InferencePoolStatus serving = evaluator.evaluate(observe(new Rollout("p-runtime", 2, 2, 2, 1, 1L, "NewReplicaSetAvailable"),
                new Rollout("p-router", 1, 1, 1, 1, 1L, "NewReplicaSetAvailable"), null, null, List.of(), T0.plusSeconds(9)), starting);
        assertThat(summary(serving, "Ready")).isEqualTo("True/Serving");
        assertThat(condition(serving, "Ready").getLastTransitionTime()).isEqualTo(T0.plusSeconds(9).toString());
        assertThat(summary(serving, "Progressing")).isEqualTo("False/RolloutComplete");
        assertThat(serving.getPodsReady()).isEqualTo("2/2");
        assertThat(serving.getReadyReplicas()).isEqualTo(2);
        assertThat(serving.getObservedGeneration()).isEqualTo(2);
        assertThat(serving.getMetrics().getPrefixHitRate()).isEqualTo(0.667);
        assertThat(serving.getMetrics().getRequestsPerSecond()).isEqualTo(12.5);
        assertThat(condition(serving, "Ready").getObservedGeneration()).isEqualTo(2);
    }

    @Test
    void losingAPodAfterTheRolloutIsDegraded() {
        InferencePoolStatus starting = evaluator.evaluate(observe(new Rollout("p-runtime", 3, 2, 3, 1, 1L, "ReplicaSetUpdated"),
                new Rollout("p-router", 1, 1, 1, 1, 1L, "NewReplicaSetAvailable"), null, null, List.of(), T0), null);
        assertThat(summary(starting, "Degraded")).as("pods still starting").isEqualTo("False/AsExpected");
        assertThat(summary(starting, "Progressing")).isEqualTo("True/RollingOut");
        InferencePoolStatus status = evaluator.evaluate(observe(new Rollout("p-runtime", 3, 2, 3, 1, 1L, "NewReplicaSetAvailable"),
                new Rollout("p-router", 1, 1, 1, 1, 1L, "NewReplicaSetAvailable"), null, null, List.of(), T0), null);
        assertThat(summary(status, "Ready")).isEqualTo("True/Serving");
        assertThat(summary(status, "Degraded")).isEqualTo("True/RuntimePodsUnavailable");
        assertThat(condition(status, "Degraded").getMessage()).isEqualTo("p-runtime: 2 of 3 pods ready");
        assertThat(summary(status, "Progressing")).isEqualTo("False/RolloutComplete");
        InferencePoolStatus stuck = evaluator.evaluate(observe(new Rollout("p-runtime", 3, 0, 3, 1, 1L, "ProgressDeadlineExceeded"),
                new Rollout("p-router", 1, 1, 1, 1, 1L, "NewReplicaSetAvailable"), null, null, List.of(), T0), null);
        assertThat(condition(stuck, "Degraded").getMessage()).contains("progress deadline exceeded");
    }

    @Test
    void kafkaTenantsAndSpecProblemsAreDegradedWithTheirReason() {
        Rollout runtime = new Rollout("p-runtime", 1, 1, 1, 1, 1L, "NewReplicaSetAvailable");
        Rollout router = new Rollout("p-router", 1, 1, 1, 1, 1L, "NewReplicaSetAvailable");
        assertThat(summary(evaluator.evaluate(observe(runtime, router, "Kafka at k:9092: timed out", null, List.of(), T0), null),
                "Degraded")).isEqualTo("True/KafkaUnreachable");
        assertThat(summary(evaluator.evaluate(observe(runtime, router, null, "Secret t missing", List.of(), T0), null),
                "Degraded")).isEqualTo("True/TenantsSecretNotFound");
        InferencePoolStatus invalid = evaluator.evaluate(observe(runtime, router, null, null,
                List.of("spec.model.source is required for backend cpu"), T0), null);
        assertThat(summary(invalid, "Degraded")).isEqualTo("True/InvalidSpec");
        assertThat(summary(invalid, "Ready")).isEqualTo("False/InvalidSpec");
        assertThat(condition(invalid, "Degraded").getMessage()).contains("spec.model.source");
    }

    @Test
    void aNewGenerationIsProgressingUntilTheDeploymentsCatchUp() {
        InferencePoolStatus status = evaluator.evaluate(observe(new Rollout("p-runtime", 2, 2, 1, 3, 2L, "NewReplicaSetAvailable"),
                new Rollout("p-router", 1, 1, 1, 1, 1L, "NewReplicaSetAvailable"), null, null, List.of(), T0), null);
        assertThat(summary(status, "Progressing")).isEqualTo("True/RollingOut");
        assertThat(summary(status, "Degraded")).as("mid-rollout is not degraded").isEqualTo("False/AsExpected");
        assertThat(summary(evaluator.evaluate(observe(new Rollout("p-runtime", 0, 0, 0, 1, 1L, "NewReplicaSetAvailable"),
                new Rollout("p-router", 1, 1, 1, 1, 1L, "NewReplicaSetAvailable"), null, null, List.of(), T0), null), "Ready")).isEqualTo("False/ScaledToZero");
    }
}
