package io.kvmesh.operator.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.junit.jupiter.api.Test;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.kvmesh.operator.crd.v1alpha1.InferencePool;

/** The plan is plain data: these tests need no cluster. */
class PoolPlannerTest {

    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
    private final PoolPlanner planner = new PoolPlanner(OperatorDefaults.STANDARD);

    static InferencePool read(String name) throws IOException {
        try (InputStream in = PoolPlannerTest.class.getResourceAsStream("/pools/" + name)) {
            InferencePool pool = SERIALIZATION.unmarshal(in, InferencePool.class);
            pool.getMetadata().setUid("uid-" + pool.getMetadata().getName());
            if (pool.getMetadata().getNamespace() == null) {
                pool.getMetadata().setNamespace("default");
            }
            return pool;
        }
    }

    private static Properties properties(PoolPlan plan, Component component) throws IOException {
        ConfigMap config = (ConfigMap) plan.objects().getFirst();
        Properties properties = new Properties();
        properties.load(new java.io.StringReader(config.getData().get(component.label() + ".properties")));
        return properties;
    }

    @Test
    void everyObjectIsOwnedByThePoolLabelledAndNamedAfterIt() throws IOException {
        InferencePool pool = read("full-pool.yaml");
        PoolPlan plan = planner.plan(pool);
        assertThat(plan.problems()).isEmpty();
        assertThat(plan.objects()).extracting(o -> o.getKind() + "/" + o.getMetadata().getName()).containsExactly(
                "ConfigMap/llama-chat-config",
                "Deployment/llama-chat-runtime", "Service/llama-chat-runtime",
                "Deployment/llama-chat-router", "Service/llama-chat-router",
                "Deployment/llama-chat-cache-index", "Service/llama-chat-cache-index");
        for (HasMetadata object : plan.objects()) {
            assertThat(object.getMetadata().getNamespace()).isEqualTo("team-a");
            assertThat(object.getMetadata().getOwnerReferences()).singleElement().satisfies(owner -> {
                assertThat(owner.getKind()).isEqualTo("InferencePool");
                assertThat(owner.getApiVersion()).isEqualTo("kvmesh.io/v1alpha1");
                assertThat(owner.getUid()).isEqualTo("uid-llama-chat");
                assertThat(owner.getController()).isTrue();
            });
            assertThat(object.getMetadata().getLabels()).containsEntry(PoolLabels.POOL, "llama-chat")
                    .containsEntry(PoolLabels.PART_OF, "kvmesh").containsEntry(PoolLabels.MANAGED_BY, "kvmesh-operator");
        }
        assertThat(plan.endpoint()).isEqualTo("http://llama-chat-router.team-a.svc:8080/v1");
        assertThat(plan.runtimeSelector()).isEqualTo("kvmesh.io/pool=llama-chat,app.kubernetes.io/component=runtime");
    }

    @Test
    void everyPortSaysItsProtocol() throws IOException {
        // Server-side apply of a port without protocol fails with a 500 on Kubernetes 1.20 (reference/kubernetes-envtest.md).
        PoolPlan plan = planner.plan(read("full-pool.yaml"));
        for (HasMetadata object : plan.objects()) {
            if (object instanceof Service service) {
                assertThat(service.getSpec().getPorts()).allSatisfy(p -> assertThat(p.getProtocol()).isEqualTo("TCP"));
            } else if (object instanceof Deployment deployment) {
                var spec = deployment.getSpec().getTemplate().getSpec();
                assertThat(spec.getContainers()).allSatisfy(c -> assertThat(c.getPorts())
                        .isNotEmpty().allSatisfy(p -> assertThat(p.getProtocol()).isEqualTo("TCP")));
            }
        }
        Service runtime = (Service) plan.objects().get(2);
        assertThat(runtime.getSpec().getClusterIP()).as("headless: routers reach each pod").isEqualTo("None");
    }

    @Test
    void theSpecBecomesEachServicesConfiguration() throws IOException {
        PoolPlan plan = planner.plan(read("full-pool.yaml"));
        Properties runtime = properties(plan, Component.RUNTIME);
        assertThat(runtime).containsEntry("kvmesh.backend", "cuda").containsEntry("kvmesh.model-id", "llama-3.2-1b-instruct")
                .containsEntry("kvmesh.model-path", "/models/llama-3.2-1b-instruct-q8_0.gguf")
                .containsEntry("kvmesh.block-size", "32").containsEntry("kvmesh.kv-blocks", "8192")
                .containsEntry("kvmesh.kafka.bootstrap-servers", "kafka-0.kafka:9092,kafka-1.kafka:9092")
                .containsEntry("kvmesh.kafka.topic-prefix", "kvmesh.team-a.llama-chat")
                .containsEntry("kvmesh.kafka.partitions", "12").containsEntry("kvmesh.kafka.create-topics", "false")
                .containsEntry("kvmesh.host-swap-mib", "16384")
                .containsEntry("kvmesh.lamps.policy", "infercept").containsEntry("kvmesh.lamps.default-api-duration", "3s")
                .containsEntry("kvmesh.lamps.tool-api-durations.\"calculator\"", "5ms");
        assertThat(properties(planner.plan(read("minimal-pool.yaml")), Component.RUNTIME))
                .as("no hostSwapSize: no host tier").containsEntry("kvmesh.host-blocks", "0")
                .containsEntry("kvmesh.lamps.policy", "lamps");
        Properties router = properties(plan, Component.ROUTER);
        assertThat(router).containsEntry("kvmesh.policy", "approximate-prefix").containsEntry("kvmesh.block-size", "32")
                .containsEntry("kvmesh.weights.prefix", "1.5").containsEntry("kvmesh.weights.host-block", "0.25")
                .containsEntry("kvmesh.guard.enabled", "false").containsEntry("kvmesh.guard.balance-abs-threshold", "16")
                .containsEntry("kvmesh.groups.window", "20ms").containsEntry("kvmesh.speculative.ttl", "500ms")
                .containsEntry("kvmesh.approximate.blocks-per-pod", "16384").containsEntry("kvmesh.max-tries", "2")
                .containsEntry("kvmesh.model-path", "/models/llama-3.2-1b-instruct-q8_0.gguf");
        assertThat(plan.topics()).isEqualTo(new TopicsPlan("kafka-0.kafka:9092,kafka-1.kafka:9092", "kvmesh.team-a.llama-chat", 12, 3, "2h"));

        Deployment runtimeDeployment = plan.deployment(Component.RUNTIME);
        assertThat(runtimeDeployment.getSpec().getReplicas()).isEqualTo(3);
        assertThat(plan.deployment(Component.ROUTER).getSpec().getReplicas()).isEqualTo(2);
        var pod = runtimeDeployment.getSpec().getTemplate().getSpec();
        assertThat(pod.getInitContainers()).singleElement().satisfies(init -> assertThat(init.getArgs())
                .contains("https://models.example.com/llama-3.2-1b-instruct-q8_0.gguf", "/models/llama-3.2-1b-instruct-q8_0.gguf"));
        assertThat(pod.getContainers().getFirst().getImage()).isEqualTo("registry.example.com/kvmesh/gpu-runtime-service:0.1.0");
        assertThat(pod.getContainers().getFirst().getResources().getLimits()).containsKey("nvidia.com/gpu");
        assertThat(plan.deployment(Component.ROUTER).getSpec().getTemplate().getSpec().getContainers().getFirst().getImage())
                .isEqualTo("ghcr.io/kvmesh/router-service:0.1.0");
    }

    @Test
    void aConfigurationChangeChangesThePodTemplateSoThePodsRoll() throws IOException {
        InferencePool pool = read("full-pool.yaml");
        String before = digest(planner.plan(pool).deployment(Component.ROUTER));
        String runtimeBefore = digest(planner.plan(pool).deployment(Component.RUNTIME));
        pool.getSpec().getRouting().getWeights().setQueue(0.9);
        assertThat(digest(planner.plan(pool).deployment(Component.ROUTER))).isNotEqualTo(before);
        assertThat(digest(planner.plan(pool).deployment(Component.RUNTIME))).as("the runtime's config did not change").isEqualTo(runtimeBefore);
        assertThat(planner.plan(pool).objects()).as("the same pool, the same plan").isEqualTo(planner.plan(pool).objects());
    }

    private static String digest(Deployment deployment) {
        return deployment.getSpec().getTemplate().getMetadata().getAnnotations().get(PoolLabels.CONFIG_DIGEST);
    }

    @Test
    void tenantsMountTheSecretIntoTheRoutersOnly() throws IOException {
        PoolPlan plan = planner.plan(read("full-pool.yaml"));
        var router = plan.deployment(Component.ROUTER).getSpec().getTemplate().getSpec();
        assertThat(plan.tenantsSecret()).isEqualTo("llama-chat-tenants");
        assertThat(router.getVolumes()).filteredOn(v -> v.getSecret() != null)
                .singleElement().satisfies(v -> assertThat(v.getSecret().getSecretName()).isEqualTo(plan.tenantsSecret()));
        assertThat(router.getContainers().getFirst().getEnv()).anySatisfy(e -> {
            assertThat(e.getName()).isEqualTo("QUARKUS_CONFIG_LOCATIONS");
            assertThat(e.getValue()).isEqualTo("/deployments/tenants/tenants.properties");
        });
        var runtime = plan.deployment(Component.RUNTIME).getSpec().getTemplate().getSpec();
        assertThat(runtime.getVolumes()).allSatisfy(v -> assertThat(v.getSecret()).isNull());
    }

    @Test
    void theMinimalPoolGetsDefaultsAndGatewayApiLabels() throws IOException {
        InferencePool pool = read("minimal-pool.yaml");
        pool.getSpec().setSelector(new io.kvmesh.operator.crd.v1alpha1.PodSelector());
        pool.getSpec().getSelector().setMatchLabels(Map.of("app", "my-model-server"));
        PoolPlan plan = planner.plan(pool);
        Deployment runtime = plan.deployment(Component.RUNTIME);
        assertThat(runtime.getSpec().getTemplate().getMetadata().getLabels()).containsEntry("app", "my-model-server");
        assertThat(runtime.getSpec().getSelector().getMatchLabels()).doesNotContainKey("app");
        assertThat(plan.topics().prefix()).isEqualTo("kvmesh." + pool.getMetadata().getNamespace() + "." + pool.getMetadata().getName());
    }

    @Test
    void problemsTheSchemaCannotSeeNameTheField() throws IOException {
        InferencePool pool = read("minimal-pool.yaml");
        pool.getSpec().getRuntime().setBackend(io.kvmesh.operator.crd.v1alpha1.ComputeBackend.CPU);
        pool.getSpec().getModel().setSource(null);
        assertThat(planner.plan(pool).problems()).singleElement().asString().startsWith("spec.model.source is required for backend cpu");
        pool.getSpec().getModel().setSource("s3://bucket/model.gguf");
        assertThat(planner.plan(pool).problems()).singleElement().asString().contains("unsupported scheme \"s3\"");
        pool.getSpec().getModel().setSource("pvc://models/llama/1b.gguf");
        PoolPlan plan = planner.plan(pool);
        assertThat(plan.problems()).isEmpty();
        assertThat(properties(plan, Component.RUNTIME)).containsEntry("kvmesh.model-path", "/models/llama/1b.gguf");
        assertThat(plan.deployment(Component.RUNTIME).getSpec().getTemplate().getSpec().getVolumes())
                .filteredOn(v -> v.getPersistentVolumeClaim() != null)
                .singleElement().satisfies(v -> assertThat(v.getPersistentVolumeClaim().getClaimName()).isEqualTo("models"));
        assertThat(PoolPlanner.mebibytes("8Gi", "f", new java.util.ArrayList<>())).isEqualTo(8192);
        List<String> problems = new java.util.ArrayList<>();
        assertThat(PoolPlanner.mebibytes("100Ki", "spec.runtime.kvCacheSize", problems)).isEqualTo(-1);
        assertThat(problems).singleElement().asString().startsWith("spec.runtime.kvCacheSize 100Ki is less than 1Mi");
    }
}
