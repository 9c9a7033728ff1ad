package io.kvmesh.operator.dashboard;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.fabric8.kubernetes.api.model.Condition;
import io.kvmesh.operator.crd.v1alpha1.InferencePool;
import io.kvmesh.operator.crd.v1alpha1.InferencePoolSpec;
import io.kvmesh.operator.crd.v1alpha1.InferencePoolStatus;
import io.kvmesh.operator.crd.v1alpha1.PoolMetrics;
import io.kvmesh.operator.telemetry.PoolTelemetry;
import io.kvmesh.prefix.events.PodStatus;

/**
 * What the dashboard shows of one pool, as {@code /api/pools} serves it: the spec in brief, the status the operator
 * wrote, and what the operator hears from the pool right now (live pods, the summaries' history, the routers'
 * decisions by reason). Plain Java: built from the resource and its {@link PoolTelemetry}, serialized by Jackson.
 */
public record PoolView(String namespace, String name, long generation, String createdAt, Spec spec, Status status,
                       Telemetry telemetry, List<Pod> pods, History history, Map<String, Long> routingMix) {

    /** The spec fields a reader scans for; {@code kubectl get kvpool -o yaml} has the rest. */
    public record Spec(String modelId, int replicas, String backend, String routingPolicy, int routerReplicas) {
    }

    /** The status as written; {@code metrics} and {@code podsReady} are absent until the operator has computed them. */
    public record Status(Long observedGeneration, String podsReady, Integer readyReplicas, String endpoint,
                         List<ConditionView> conditions, PoolMetrics metrics) {
    }

    public record ConditionView(String type, String status, String reason, String message, String lastTransitionTime) {
    }

    /**
     * Whether the operator follows the pool's {@code pod-status} topic yet (it starts on the first reconcile), and
     * what reading it last failed on, if it fails now.
     */
    public record Telemetry(boolean followed, String problem, long heartbeatTimeoutMillis) {
    }

    /** A live runtime pod's latest heartbeat; {@code kvUsage} is device blocks used over total. */
    public record Pod(String id, String address, boolean ready, int running, int waiting, int paused, long kvBlocksUsed,
                      long kvBlocksTotal, double kvUsage, double prefixHitRate, double tokensPerSecond,
                      double requestsPerSecond, long heartbeatAgeMillis) {

        static Pod of(PodStatus status, long now) {
            return new Pod(status.podId(), status.address(), status.ready(), status.running(), status.waiting(),
                    status.paused(), status.deviceBlocks().used(), status.deviceBlocks().total(),
                    status.deviceBlocks().fraction(), status.prefixHitRate(), status.tokensPerSecond(),
                    status.requestsPerSecond(), Math.max(0, now - status.ts()));
        }
    }

    /** The pool's summaries over time, oldest first, one array per series (index i of each is one sample). */
    public record History(List<Long> ts, List<Integer> livePods, List<Integer> readyPods, List<Double> kvCacheUsage,
                          List<Double> prefixHitRate, List<Double> requestsPerSecond, List<Double> tokensPerSecond) {

        static History of(List<PoolTelemetry.Summary> summaries) {
            return new History(
                    summaries.stream().map(PoolTelemetry.Summary::ts).toList(),
                    summaries.stream().map(PoolTelemetry.Summary::livePods).toList(),
                    summaries.stream().map(PoolTelemetry.Summary::readyPods).toList(),
                    summaries.stream().map(PoolTelemetry.Summary::kvCacheUsage).toList(),
                    summaries.stream().map(PoolTelemetry.Summary::prefixHitRate).toList(),
                    summaries.stream().map(PoolTelemetry.Summary::requestsPerSecond).toList(),
                    summaries.stream().map(PoolTelemetry.Summary::tokensPerSecond).toList());
        }
    }

    /**
     * The view of {@code pool} at {@code now}. {@code telemetry} is empty until the operator follows the pool;
     * {@code problem} is what reading its pod-status fails on, or null.
     */
    public static PoolView of(InferencePool pool, Optional<PoolTelemetry> telemetry, String problem,
                              long heartbeatTimeoutMillis, long now) {
        var metadata = pool.getMetadata();
        List<Pod> pods = telemetry.map(t -> t.livePods(now).stream().map(p -> Pod.of(p, now)).toList()).orElse(List.of());
        History history = History.of(telemetry.map(PoolTelemetry::history).orElse(List.of()));
        Map<String, Long> routingMix = telemetry.map(PoolTelemetry::routingDecisions).orElse(Map.of());
        return new PoolView(metadata.getNamespace(), metadata.getName(),
                metadata.getGeneration() == null ? 0 : metadata.getGeneration(), metadata.getCreationTimestamp(),
                spec(pool.getSpec()), status(pool.getStatus()),
                new Telemetry(telemetry.isPresent(), problem, heartbeatTimeoutMillis), pods, history, routingMix);
    }

    private static Spec spec(InferencePoolSpec spec) {
        if (spec == null) {
            return null;
        }
        return new Spec(spec.getModel() == null ? null : spec.getModel().getId(), spec.getReplicas(),
                spec.getRuntime().getBackend().value(), spec.getRouting().getPolicy().value(),
                spec.getRouting().getRouterReplicas());
    }

    private static Status status(InferencePoolStatus status) {
        if (status == null) {
            return new Status(null, null, null, null, List.of(), null);
        }
        List<ConditionView> conditions = status.getConditions() == null ? List.of()
                : status.getConditions().stream().map(PoolView::condition).toList();
        return new Status(status.getObservedGeneration(), status.getPodsReady(), status.getReadyReplicas(),
                status.getEndpoint(), conditions, status.getMetrics());
    }

    private static ConditionView condition(Condition c) {
        return new ConditionView(c.getType(), c.getStatus(), c.getReason(), c.getMessage(), c.getLastTransitionTime());
    }
}
