package io.kvmesh.operator.status;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.kvmesh.operator.crd.v1alpha1.InferencePoolStatus;
import io.kvmesh.operator.crd.v1alpha1.PoolMetrics;
import io.kvmesh.operator.telemetry.PoolTelemetry;

/**
 * Decides a pool's status from what the reconciler observed: problems in the spec, Kafka and the tenants Secret,
 * each Deployment's rollout, and the pods' heartbeats. Plain Java; a condition keeps its {@code lastTransitionTime}
 * while its status does not change (Kubernetes' convention), so a status update is a no-op when nothing moved.
 *
 * <ul>
 * <li><b>Ready</b>: at least one router and one runtime pod ready (the pool answers requests).</li>
 * <li><b>Progressing</b>: a Deployment has not yet caught up with the spec (new generation, pods being replaced or
 * started), or the objects were just applied.</li>
 * <li><b>Degraded</b>: serving below the spec or unable to reach it: invalid spec, Kafka unreachable, tenants Secret
 * missing, fewer ready runtime pods than desired once the rollout is done.</li>
 * </ul>
 */
public final class PoolStatusEvaluator {

    /**
     * One Deployment's rollout as its status shows it; {@code progressReason} is the reason of the Deployment's own
     * Progressing condition ({@code ReplicaSetUpdated} while rolling, {@code NewReplicaSetAvailable} when done,
     * {@code ProgressDeadlineExceeded} when stuck), null before the Deployment controller wrote one.
     */
    public record Rollout(String name, int desired, int ready, int updated, long generation, Long observedGeneration,
                          String progressReason) {

        /** Still moving towards the spec: a new generation, pods being replaced, or new pods not ready yet. */
        public boolean rolling() {
            boolean specApplied = observedGeneration != null && observedGeneration >= generation && updated >= desired;
            return !specApplied || ready < desired && !"NewReplicaSetAvailable".equals(progressReason) && !stalled();
        }

        public boolean stalled() {
            return "ProgressDeadlineExceeded".equals(progressReason);
        }
    }

    /** Everything observed in one reconcile. Missing Deployments are null (not created yet). */
    public record Observation(long generation, List<String> specProblems, String kafkaProblem, String tenantsProblem,
                              Rollout runtime, Rollout router, Rollout cacheIndex, String endpoint, String runtimeSelector,
                              Optional<PoolTelemetry.Summary> metrics, Instant now) {
    }

    public InferencePoolStatus evaluate(Observation o, InferencePoolStatus previous) {
        InferencePoolStatus status = new InferencePoolStatus();
        status.setObservedGeneration(o.generation());
        status.setEndpoint(o.endpoint());
        status.setSelector(o.runtimeSelector());
        int desired = o.runtime() == null ? 0 : o.runtime().desired();
        int ready = o.runtime() == null ? 0 : o.runtime().ready();
        status.setReplicas(o.runtime() == null ? 0 : Math.max(o.runtime().updated(), ready));
        status.setReadyReplicas(ready);
        status.setPodsReady(ready + "/" + desired);
        o.metrics().ifPresent(m -> status.setMetrics(metrics(m)));

        List<Condition> previousConditions = previous == null ? List.of() : previous.getConditions();
        List<Condition> conditions = new ArrayList<>();
        conditions.add(ready(o, previousConditions));
        conditions.add(progressing(o, previousConditions));
        conditions.add(degraded(o, previousConditions));
        status.setConditions(conditions);
        return status;
    }

    private Condition ready(Observation o, List<Condition> previous) {
        if (!o.specProblems().isEmpty()) {
            return condition(o, previous, InferencePoolStatus.READY, false, "InvalidSpec", String.join("; ", o.specProblems()));
        }
        int routers = o.router() == null ? 0 : o.router().ready();
        int runtimes = o.runtime() == null ? 0 : o.runtime().ready();
        if (o.runtime() != null && o.runtime().desired() == 0) {
            return condition(o, previous, InferencePoolStatus.READY, false, "ScaledToZero", "spec.replicas is 0: no runtime pod runs");
        }
        if (routers == 0) {
            return condition(o, previous, InferencePoolStatus.READY, false, "NoRouterReady", "no router pod is ready yet");
        }
        if (runtimes == 0) {
            return condition(o, previous, InferencePoolStatus.READY, false, "NoRuntimePodReady", "no runtime pod is ready yet");
        }
        return condition(o, previous, InferencePoolStatus.READY, true, "Serving",
                runtimes + " runtime pod(s) and " + routers + " router(s) ready at " + o.endpoint());
    }

    private Condition progressing(Observation o, List<Condition> previous) {
        if (!o.specProblems().isEmpty()) {
            return condition(o, previous, InferencePoolStatus.PROGRESSING, false, "InvalidSpec", "nothing is applied until the spec is fixed");
        }
        List<String> behind = new ArrayList<>();
        for (Rollout rollout : new Rollout[] {o.runtime(), o.router(), o.cacheIndex()}) {
            if (rollout == null) {
                behind.add("objects applied, Deployments not observed yet");
                break;
            }
            if (rollout.rolling()) {
                behind.add(rollout.name() + " " + rollout.ready() + "/" + rollout.desired() + " ready, " + rollout.updated() + " updated");
            }
        }
        if (behind.isEmpty()) {
            return condition(o, previous, InferencePoolStatus.PROGRESSING, false, "RolloutComplete", "every Deployment matches the spec");
        }
        return condition(o, previous, InferencePoolStatus.PROGRESSING, true, "RollingOut", String.join("; ", behind));
    }

    private Condition degraded(Observation o, List<Condition> previous) {
        if (!o.specProblems().isEmpty()) {
            return condition(o, previous, InferencePoolStatus.DEGRADED, true, "InvalidSpec", String.join("; ", o.specProblems()));
        }
        if (o.kafkaProblem() != null) {
            return condition(o, previous, InferencePoolStatus.DEGRADED, true, "KafkaUnreachable", o.kafkaProblem());
        }
        if (o.tenantsProblem() != null) {
            return condition(o, previous, InferencePoolStatus.DEGRADED, true, "TenantsSecretNotFound", o.tenantsProblem());
        }
        for (Rollout rollout : new Rollout[] {o.runtime(), o.router(), o.cacheIndex()}) {
            // Pods lost after a finished rollout, or a rollout past its deadline: serving below the spec.
            if (rollout != null && rollout.ready() < rollout.desired() && !rollout.rolling()) {
                return condition(o, previous, InferencePoolStatus.DEGRADED, true,
                        rollout == o.runtime() ? "RuntimePodsUnavailable" : "PodsUnavailable",
                        rollout.name() + ": " + rollout.ready() + " of " + rollout.desired() + " pods ready"
                                + (rollout.stalled() ? " (progress deadline exceeded)" : ""));
            }
        }
        return condition(o, previous, InferencePoolStatus.DEGRADED, false, "AsExpected", "no problem observed");
    }

    private static Condition condition(Observation o, List<Condition> previous, String type, boolean value, String reason, String message) {
        String status = value ? "True" : "False";
        String since = previous.stream().filter(c -> type.equals(c.getType()) && status.equals(c.getStatus()))
                .map(Condition::getLastTransitionTime).findFirst().orElse(o.now().toString());
        return new ConditionBuilder().withType(type).withStatus(status).withReason(reason).withMessage(message)
                .withObservedGeneration(o.generation()).withLastTransitionTime(since).build();
    }

    private static PoolMetrics metrics(PoolTelemetry.Summary summary) {
        PoolMetrics metrics = new PoolMetrics();
        metrics.setPrefixHitRate(round(summary.prefixHitRate()));
        metrics.setKvCacheUsage(round(summary.kvCacheUsage()));
        metrics.setRequestsPerSecond(round(summary.requestsPerSecond()));
        metrics.setTokensPerSecond(round(summary.tokensPerSecond()));
        metrics.setUpdatedAt(Instant.ofEpochMilli(summary.ts()).toString());
        return metrics;
    }

    /** Three decimals: enough for a column, and a status that does not churn on noise. */
    private static double round(double value) {
        return Math.round(value * 1000) / 1000.0;
    }
}
