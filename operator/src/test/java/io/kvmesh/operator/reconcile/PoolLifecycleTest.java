package io.kvmesh.operator.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

import jakarta.inject.Inject;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.kvmesh.kafka.broker.quarkus.KafkaBrokerTestResource;
import io.kvmesh.kube.apiserver.KubectlResult;
import io.kvmesh.operator.crd.v1alpha1.InferencePool;
import io.kvmesh.operator.plan.PoolLabels;
import io.kvmesh.operator.testing.KubeApiServerTestResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The operator in this JVM against a real kube-apiserver (with the controller manager: ReplicaSets, pods, garbage
 * collection) and a real Kafka broker, driven with kubectl as a user would. There is no kubelet: a test makes pods
 * ready by patching their status, and the Deployment controller turns that into the Deployments' ready counts.
 */
@QuarkusTest
@QuarkusTestResource(KubeApiServerTestResource.class)
@QuarkusTestResource(KafkaBrokerTestResource.class)
class PoolLifecycleTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @Inject
    KubernetesClient client;

    @ConfigProperty(name = "kvmesh.kafka.bootstrap-servers")
    String bootstrap;

    private static KubectlResult kubectl(String... args) {
        return KubeApiServerTestResource.server().kubectl(args);
    }

    private static KubectlResult apply(String yaml) {
        return KubeApiServerTestResource.server().kubectlWithInput(yaml, "apply", "-f", "-");
    }

    private static String pool(String namespace, String name, String bootstrap, String extraSpec) {
        return """
                apiVersion: kvmesh.io/v1alpha1
                kind: InferencePool
                metadata:
                  name: %s
                  namespace: %s
                spec:
                  model:
                    id: kvmesh-sim
                  replicas: 2
                  runtime:
                    backend: sim
                  kafka:
                    bootstrapServers: "%s"
                    partitions: 2
                %s""".formatted(name, namespace, bootstrap, extraSpec);
    }

    private static <T> T await(String what, Supplier<T> probe) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        T value = null;
        while (System.nanoTime() < deadline) {
            try {
                value = probe.get();
            } catch (RuntimeException e) {
                value = null;
            }
            if (value != null && !Boolean.FALSE.equals(value)) {
                return value;
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }
        throw new AssertionError("timed out after " + WAIT.toSeconds() + " s waiting for " + what + " (last: " + value + ")");
    }

    private InferencePool get(String namespace, String name) {
        return client.resources(InferencePool.class).inNamespace(namespace).withName(name).get();
    }

    private static Condition condition(InferencePool pool, String type) {
        if (pool == null || pool.getStatus() == null) {
            return null;
        }
        return pool.getStatus().getConditions().stream().filter(c -> c.getType().equals(type)).findFirst().orElse(null);
    }

    private boolean conditionIs(String namespace, String name, String type, String status, String reason) {
        Condition c = condition(get(namespace, name), type);
        return c != null && c.getStatus().equals(status) && c.getReason().equals(reason);
    }

    /** What a kubelet would report: every pod of the component running and ready. */
    private void makeReady(String namespace, String pool, String component, int count) {
        List<Pod> pods = await(count + " " + component + " pods of " + pool, () -> {
            List<Pod> found = client.pods().inNamespace(namespace).withLabel(PoolLabels.POOL, pool)
                    .withLabel(PoolLabels.COMPONENT, component).list().getItems();
            return found.size() >= count ? found : null;
        });
        for (Pod pod : pods) {
            pod.setStatus(new PodStatusBuilder().withPhase("Running").withConditions(new PodConditionBuilder()
                    .withType("Ready").withStatus("True").withLastTransitionTime(Instant.now().toString()).build()).build());
            client.pods().inNamespace(namespace).resource(pod).updateStatus();
        }
    }

    @Test
    void aPoolAppliedWithKubectlRunsReportsScalesRollsAndIsCollected() throws Exception {
        assertThat(kubectl("create", "namespace", "lifecycle").exitCode()).isZero();
        KubectlResult applied = apply(pool("lifecycle", "chat", bootstrap, ""));
        assertThat(applied.exitCode()).as(applied.output()).isZero();
        InferencePool pool = await("the pool", () -> get("lifecycle", "chat"));

        // Everything it runs exists, owned by the pool.
        List<HasMetadata> owned = await("the pool's seven objects", () -> {
            List<HasMetadata> found = new java.util.ArrayList<>();
            found.addAll(client.apps().deployments().inNamespace("lifecycle").withLabel(PoolLabels.POOL, "chat").list().getItems());
            found.addAll(client.services().inNamespace("lifecycle").withLabel(PoolLabels.POOL, "chat").list().getItems());
            found.addAll(client.configMaps().inNamespace("lifecycle").withLabel(PoolLabels.POOL, "chat").list().getItems());
            return found.size() == 7 ? found : null;
        });
        assertThat(owned).allSatisfy(o -> assertThat(o.getMetadata().getOwnerReferences()).singleElement()
                .satisfies(ref -> assertThat(ref.getUid()).isEqualTo(pool.getMetadata().getUid())));
        assertThat(owned).extracting(o -> o.getKind() + "/" + o.getMetadata().getName()).containsExactlyInAnyOrder(
                "Deployment/chat-runtime", "Deployment/chat-router", "Deployment/chat-cache-index",
                "Service/chat-runtime", "Service/chat-router", "Service/chat-cache-index", "ConfigMap/chat-config");
        assertThat(owned).filteredOn(o -> o instanceof Deployment).allSatisfy(o -> assertThat(o.getMetadata().getManagedFields())
                .anySatisfy(f -> {
                    assertThat(f.getManager()).isEqualTo("kvmesh-operator");
                    assertThat(f.getOperation()).isEqualTo("Apply");
                }));
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            Set<String> topics = admin.listTopics().names().get();
            assertThat(topics).contains("kvmesh.lifecycle.chat.kv-events", "kvmesh.lifecycle.chat.pod-status", "kvmesh.lifecycle.chat.kv-index");
        }

        // Nothing ready yet: progressing, not ready.
        await("Progressing=True", () -> conditionIs("lifecycle", "chat", "Progressing", "True", "RollingOut"));
        assertThat(condition(get("lifecycle", "chat"), "Ready").getStatus()).isEqualTo("False");

        makeReady("lifecycle", "chat", "router", 1);
        makeReady("lifecycle", "chat", "cache-index", 1);
        makeReady("lifecycle", "chat", "runtime", 2);
        await("Ready=True", () -> conditionIs("lifecycle", "chat", "Ready", "True", "Serving"));
        await("Progressing=False", () -> conditionIs("lifecycle", "chat", "Progressing", "False", "RolloutComplete"));
        InferencePool serving = get("lifecycle", "chat");
        assertThat(serving.getStatus().getPodsReady()).isEqualTo("2/2");
        assertThat(serving.getStatus().getEndpoint()).isEqualTo("http://chat-router.lifecycle.svc:8080/v1");
        assertThat(serving.getStatus().getObservedGeneration()).isEqualTo(serving.getMetadata().getGeneration());
        assertThat(condition(serving, "Degraded").getReason()).isEqualTo("AsExpected");

        // kubectl get shows the printer columns.
        KubectlResult table = kubectl("get", "kvpool", "-n", "lifecycle");
        assertThat(table.stdout()).as(table.output()).contains("PODS", "READY", "POLICY", "HIT RATE", "KV USAGE", "AGE");
        String row = table.stdout().lines().filter(l -> l.startsWith("chat ")).findFirst().orElseThrow();
        assertThat(row.split("\\s+")).startsWith("chat", "2/2", "True", "prefix-aware");
        System.out.println("kubectl get kvpool -n lifecycle\n" + table.stdout());

        // A spec change rolls the routers (their config changed) and is observed.
        String routerDigest = client.apps().deployments().inNamespace("lifecycle").withName("chat-router").get()
                .getSpec().getTemplate().getMetadata().getAnnotations().get(PoolLabels.CONFIG_DIGEST);
        assertThat(kubectl("patch", "kvpool", "chat", "-n", "lifecycle", "--type=merge",
                "-p", "{\"spec\":{\"routing\":{\"policy\":\"least-load\"}}}").exitCode()).isZero();
        await("the routers' new config", () -> !routerDigest.equals(client.apps().deployments().inNamespace("lifecycle")
                .withName("chat-router").get().getSpec().getTemplate().getMetadata().getAnnotations().get(PoolLabels.CONFIG_DIGEST)));
        assertThat(client.configMaps().inNamespace("lifecycle").withName("chat-config").get().getData().get("router.properties"))
                .contains("kvmesh.policy=least-load");
        // kubectl scale goes through the scale subresource to spec.replicas, and on to the runtime Deployment.
        assertThat(kubectl("scale", "kvpool", "chat", "-n", "lifecycle", "--replicas=3").exitCode()).isZero();
        await("3 runtime replicas", () -> client.apps().deployments().inNamespace("lifecycle").withName("chat-runtime")
                .get().getSpec().getReplicas() == 3);
        await("the new generation observed", () -> {
            InferencePool p = get("lifecycle", "chat");
            return p.getStatus().getObservedGeneration().equals(p.getMetadata().getGeneration()) && p.getStatus().getPodsReady().endsWith("/3");
        });

        // Deleting the pool collects what it owned (the controller manager's garbage collector).
        assertThat(kubectl("delete", "kvpool", "chat", "-n", "lifecycle", "--wait=true", "--timeout=60s").exitCode()).isZero();
        await("the pool's objects collected", () -> client.apps().deployments().inNamespace("lifecycle").withLabel(PoolLabels.POOL, "chat")
                .list().getItems().isEmpty() && client.services().inNamespace("lifecycle").withLabel(PoolLabels.POOL, "chat")
                .list().getItems().isEmpty() && client.configMaps().inNamespace("lifecycle").withLabel(PoolLabels.POOL, "chat")
                .list().getItems().isEmpty());
    }

    @Test
    void anInvalidPoolIsRejectedByTheSchemaNamingTheField() {
        KubectlResult policy = apply(pool("default", "bad-policy", bootstrap, """
                  routing:
                    policy: fastest
                """));
        assertThat(policy.exitCode()).isNotZero();
        assertThat(policy.output()).contains("spec.routing.policy").contains("fastest");
        KubectlResult replicas = apply(pool("default", "bad-replicas", bootstrap, "").replace("replicas: 2", "replicas: -1"));
        assertThat(replicas.exitCode()).isNotZero();
        assertThat(replicas.output()).contains("spec.replicas");
        KubectlResult kafka = apply(pool("default", "bad-kafka", "not a host list", ""));
        assertThat(kafka.exitCode()).isNotZero();
        assertThat(kafka.output()).contains("spec.kafka.bootstrapServers");
        assertThat(client.resources(InferencePool.class).inNamespace("default").list().getItems())
                .extracting(p -> p.getMetadata().getName()).doesNotContain("bad-policy", "bad-replicas", "bad-kafka");
    }

    @Test
    void unreachableKafkaAMissingSecretAndAnUnusableSpecAreDegradedWithAReason() {
        assertThat(apply(pool("default", "no-kafka", "127.0.0.1:9", "")).exitCode()).isZero();
        await("Degraded=KafkaUnreachable", () -> conditionIs("default", "no-kafka", "Degraded", "True", "KafkaUnreachable"));
        assertThat(condition(get("default", "no-kafka"), "Degraded").getMessage()).contains("127.0.0.1:9");
        // The rest is applied anyway: the pods start connecting once Kafka is there.
        assertThat(client.apps().deployments().inNamespace("default").withName("no-kafka-router").get()).isNotNull();

        assertThat(apply(pool("default", "tenants", bootstrap, """
                  tenants:
                    secretRef:
                      name: tenants-keys
                """)).exitCode()).isZero();
        await("Degraded=TenantsSecretNotFound", () -> conditionIs("default", "tenants", "Degraded", "True", "TenantsSecretNotFound"));
        assertThat(kubectl("create", "secret", "generic", "tenants-keys", "-n", "default",
                "--from-literal=tenants.properties=kvmesh.tenants.acme.api-keys=k1").exitCode()).isZero();
        await("Degraded=False once the Secret exists", () -> conditionIs("default", "tenants", "Degraded", "False", "AsExpected"));

        assertThat(apply(pool("default", "no-model", bootstrap, "").replace("backend: sim", "backend: cpu")).exitCode()).isZero();
        await("Degraded=InvalidSpec", () -> conditionIs("default", "no-model", "Degraded", "True", "InvalidSpec"));
        assertThat(condition(get("default", "no-model"), "Degraded").getMessage()).contains("spec.model.source is required for backend cpu");
        assertThat(client.apps().deployments().inNamespace("default").withName("no-model-runtime").get()).as("nothing applied").isNull();
    }

    @Test
    void theSamplesApplyAndSayWhatTheyLackHere() {
        // k8s/samples as a user applies them; their Kafka (Strimzi's service name) does not resolve on this machine.
        assertThat(kubectl("create", "namespace", "samples").exitCode()).isZero();
        java.nio.file.Path samples = java.nio.file.Path.of("..", "k8s", "samples").toAbsolutePath().normalize();
        KubectlResult applied = kubectl("apply", "-n", "samples", "-f", samples.toString());
        assertThat(applied.exitCode()).as(applied.output()).isZero();
        for (String pool : List.of("small-pool", "tenants-pool")) {
            await(pool + " Degraded=KafkaUnreachable", () -> conditionIs("samples", pool, "Degraded", "True", "KafkaUnreachable"));
            assertThat(condition(get("samples", pool), "Degraded").getMessage()).contains("kvmesh-kafka-kafka-bootstrap.kafka:9092")
                    .contains("No resolvable bootstrap urls");
        }
        Deployment runtime = await("small-pool's runtime", () -> client.apps().deployments().inNamespace("samples").withName("small-pool-runtime").get());
        assertThat(runtime.getSpec().getTemplate().getSpec().getInitContainers()).singleElement()
                .satisfies(init -> assertThat(init.getName()).isEqualTo("download-model"));
        Deployment routers = await("tenants-pool's routers", () -> client.apps().deployments().inNamespace("samples").withName("tenants-pool-router").get());
        assertThat(routers.getSpec().getReplicas()).isEqualTo(2);
        assertThat(routers.getSpec().getTemplate().getSpec().getVolumes())
                .anySatisfy(v -> assertThat(v.getSecret() == null ? null : v.getSecret().getSecretName()).isEqualTo("tenants-pool-tenants"));
    }

    @Test
    void theOperatorHoldsTheLeaderLeaseAndExportsMetrics() {
        var lease = await("the leader election Lease", () -> client.leases().inNamespace("default").withName("kvmesh-operator").get());
        assertThat(lease.getSpec().getHolderIdentity()).isNotBlank();
        io.restassured.RestAssured.given().get("/metrics").then().statusCode(200)
                .body(org.hamcrest.Matchers.containsString("jvm_memory_used_bytes"));
    }
}
