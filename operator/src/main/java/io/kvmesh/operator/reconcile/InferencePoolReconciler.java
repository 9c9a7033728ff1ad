package io.kvmesh.operator.reconcile;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

import org.jboss.logging.Logger;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.kvmesh.operator.crd.v1alpha1.InferencePool;
import io.kvmesh.operator.plan.Component;
import io.kvmesh.operator.plan.PoolLabels;
import io.kvmesh.operator.plan.PoolPlan;
import io.kvmesh.operator.plan.PoolPlanner;
import io.kvmesh.operator.plan.TopicsPlan;
import io.kvmesh.operator.status.PoolStatusEvaluator;
import io.kvmesh.operator.telemetry.PoolTelemetry;
import io.kvmesh.operator.telemetry.TelemetryRegistry;
import io.kvmesh.prefix.events.PoolTopics;
import io.kvmesh.streams.PoolTopicsAdmin;
import io.kvmesh.streams.StreamSettings;
import io.quarkus.runtime.configuration.DurationConverter;

/**
 * Applies a pool's {@link PoolPlan} and reports its status. The decisions live in {@link PoolPlanner} and
 * {@link PoolStatusEvaluator}; this class only talks to Kubernetes (server-side apply as {@code kvmesh-operator}) and
 * Kafka (the pool's topics, retried with a growing delay while the brokers cannot be reached). Deployments are
 * watched, so a rollout's progress updates the status without waiting for the periodic refresh (for the metrics).
 */
@ControllerConfiguration(name = "inferencepool")
public class InferencePoolReconciler implements Reconciler<InferencePool>, Cleaner<InferencePool> {

    private static final Logger LOG = Logger.getLogger(InferencePoolReconciler.class);
    private static final Duration REFRESH = Duration.ofSeconds(10);
    private static final Duration MAX_BACKOFF = Duration.ofMinutes(5);

    private final KubernetesClient client;
    private final PoolPlanner planner;
    private final PoolStatusEvaluator evaluator = new PoolStatusEvaluator();
    private final TelemetryRegistry telemetry;
    /** Topics known to exist, per pool: asking Kafka again on every reconcile would only add latency. */
    private final Map<String, TopicsPlan> topicsCreated = new ConcurrentHashMap<>();
    private final Map<String, Integer> kafkaFailures = new ConcurrentHashMap<>();

    public InferencePoolReconciler(KubernetesClient client, PoolPlanner planner, TelemetryRegistry telemetry) {
        this.client = client;
        this.planner = planner;
        this.telemetry = telemetry;
    }

    @Override
    public List<EventSource<?, InferencePool>> prepareEventSources(EventSourceContext<InferencePool> context) {
        // Owner references map a Deployment back to its pool (the default mapper for an owned secondary).
        var deployments = InformerEventSourceConfiguration.from(Deployment.class, InferencePool.class)
                .withLabelSelector(PoolLabels.MANAGED_BY + "=" + PoolLabels.MANAGER)
                .build();
        return List.of(new InformerEventSource<>(deployments, context));
    }

    @Override
    public UpdateControl<InferencePool> reconcile(InferencePool pool, Context<InferencePool> context) {
        String key = key(pool);
        PoolPlan plan = planner.plan(pool);
        String kafkaProblem = null;
        String tenantsProblem = null;
        Duration next = REFRESH;
        if (plan.problems().isEmpty()) {
            kafkaProblem = ensureTopics(key, plan.topics());
            if (kafkaProblem != null) {
                int failures = kafkaFailures.merge(key, 1, Integer::sum);
                next = backoff(failures);
                LOG.warnf("pool %s: %s (retrying in %d s)", key, kafkaProblem, next.toSeconds());
            } else {
                kafkaFailures.remove(key);
            }
            if (plan.tenantsSecret() != null
                    && client.secrets().inNamespace(pool.getMetadata().getNamespace()).withName(plan.tenantsSecret()).get() == null) {
                tenantsProblem = "Secret " + plan.tenantsSecret() + " (spec.tenants.secretRef) does not exist in namespace "
                        + pool.getMetadata().getNamespace() + "; the routers cannot start without it";
                next = next.compareTo(Duration.ofSeconds(15)) < 0 ? next : Duration.ofSeconds(15);
            }
            for (HasMetadata object : plan.objects()) {
                client.resource(object).fieldManager(PoolLabels.MANAGER).forceConflicts().serverSideApply();
            }
        } else {
            LOG.warnf("pool %s: invalid spec: %s", key, plan.problems());
        }
        Map<String, Deployment> deployments = context.getSecondaryResources(Deployment.class).stream()
                .collect(Collectors.toMap(d -> d.getMetadata().getName(), d -> d, (a, b) -> a));
        PoolTelemetry pods = telemetry.watch(key, plan.topics(), planner.routerUrl(pool));
        String name = pool.getMetadata().getName();
        var observation = new PoolStatusEvaluator.Observation(pool.getMetadata().getGeneration(), plan.problems(),
                kafkaProblem, tenantsProblem,
                rollout(deployments.get(Component.RUNTIME.objectName(name)), plan, Component.RUNTIME),
                rollout(deployments.get(Component.ROUTER.objectName(name)), plan, Component.ROUTER),
                rollout(deployments.get(Component.CACHE_INDEX.objectName(name)), plan, Component.CACHE_INDEX),
                plan.endpoint(), plan.runtimeSelector(), pods.summary(System.currentTimeMillis()), Instant.now());
        InferencePool update = new InferencePool();
        update.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName(name)
                .withNamespace(pool.getMetadata().getNamespace()).build());
        update.setStatus(evaluator.evaluate(observation, pool.getStatus()));
        return UpdateControl.patchStatus(update).rescheduleAfter(next);
    }

    /** Null when the topics exist (or were just created), else why not. */
    private String ensureTopics(String key, TopicsPlan topics) {
        if (topics.equals(topicsCreated.get(key))) {
            return null;
        }
        StreamSettings settings = new StreamSettings(topics.bootstrapServers(), new PoolTopics(topics.prefix()),
                topics.partitions(), DurationConverter.parseDuration(topics.eventRetention()), false);
        try {
            short replicas = topics.replicationFactor() == null ? -1 : topics.replicationFactor().shortValue();
            PoolTopicsAdmin.ensureTopics(settings, replicas, Duration.ofSeconds(10));
            topicsCreated.put(key, topics);
            return null;
        } catch (RuntimeException e) {
            return "Kafka at " + topics.bootstrapServers() + ": " + causes(e);
        }
    }

    /** "Failed to create new KafkaAdminClient: No resolvable bootstrap urls...": the wrapper says little alone. */
    static String causes(Throwable error) {
        StringBuilder text = new StringBuilder(String.valueOf(error.getMessage()));
        for (Throwable cause = error.getCause(); cause != null && cause != cause.getCause(); cause = cause.getCause()) {
            if (cause.getMessage() != null && !text.toString().contains(cause.getMessage())) {
                text.append(": ").append(cause.getMessage());
            }
        }
        return text.toString();
    }

    private static PoolStatusEvaluator.Rollout rollout(Deployment deployment, PoolPlan plan, Component component) {
        if (deployment == null) {
            return null;
        }
        var status = deployment.getStatus();
        int desired = plan.deployment(component).getSpec().getReplicas();
        return new PoolStatusEvaluator.Rollout(deployment.getMetadata().getName(), desired,
                status == null || status.getReadyReplicas() == null ? 0 : status.getReadyReplicas(),
                status == null || status.getUpdatedReplicas() == null ? 0 : status.getUpdatedReplicas(),
                deployment.getMetadata().getGeneration() == null ? 0 : deployment.getMetadata().getGeneration(),
                status == null ? null : status.getObservedGeneration(),
                status == null || status.getConditions() == null ? null : status.getConditions().stream()
                        .filter(c -> "Progressing".equals(c.getType())).map(c -> c.getReason()).findFirst().orElse(null));
    }

    /** 5 s, 10 s, 20 s... up to 5 minutes. */
    static Duration backoff(int failures) {
        long seconds = 5L << Math.min(10, Math.max(0, failures - 1));
        return Duration.ofSeconds(Math.min(seconds, MAX_BACKOFF.toSeconds()));
    }

    @Override
    public DeleteControl cleanup(InferencePool pool, Context<InferencePool> context) {
        // The pool's objects go with it (owner references); its topics stay: they may be shared or hold history.
        String key = key(pool);
        telemetry.forget(key);
        topicsCreated.remove(key);
        kafkaFailures.remove(key);
        return DeleteControl.defaultDelete();
    }

    /** {@code namespace/name}: how the telemetry registry and the dashboard name a pool. */
    static String key(InferencePool pool) {
        return Cache.metaNamespaceKeyFunc(pool);
    }

}
