package io.kvmesh.operator.plan;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.ProbeBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.kvmesh.operator.crd.v1alpha1.ComputeBackend;
import io.kvmesh.operator.crd.v1alpha1.InferencePool;
import io.kvmesh.operator.crd.v1alpha1.InferencePoolSpec;
import io.kvmesh.operator.crd.v1alpha1.KafkaSpec;
import io.kvmesh.operator.crd.v1alpha1.RoutingSpec;
import io.kvmesh.operator.crd.v1alpha1.LampsSpec;
import io.kvmesh.operator.crd.v1alpha1.RuntimeSpec;

/**
 * Turns an {@link InferencePool} into the objects that run it — a ConfigMap with each component's
 * {@code application.properties}, the runtime Deployment and its headless Service, the router Deployment and
 * Service, the cache-index Deployment and Service — and the pool's Kafka topics. Pure: the same pool and defaults
 * always give the same plan, so a reconcile is "apply the plan"; tested without a cluster.
 *
 * <p>Every object has the pool as its controlling owner (deleting the pool collects them), the labels of
 * {@link PoolLabels}, and every port an explicit {@code protocol: TCP} (server-side apply on Kubernetes 1.20 fails
 * with a 500 without it). A pod template carries a digest of its configuration, so a spec change rolls the pods.
 */
public final class PoolPlanner {

    /** Where Quarkus looks for {@code application.properties} next to the application ({@code /deployments}). */
    static final String CONFIG_DIR = "/deployments/config";
    static final String TENANTS_DIR = "/deployments/tenants";
    static final String MODELS_DIR = "/models";

    private final OperatorDefaults defaults;

    public PoolPlanner(OperatorDefaults defaults) {
        this.defaults = defaults;
    }

    public PoolPlan plan(InferencePool pool) {
        String name = pool.getMetadata().getName();
        String namespace = pool.getMetadata().getNamespace();
        InferencePoolSpec spec = pool.getSpec();
        List<String> problems = new ArrayList<>();
        ModelSource model = ModelSource.of(spec.getModel().getSource(), spec.getRuntime().getBackend(), problems);
        TopicsPlan topics = topics(pool);

        Map<Component, String> properties = new LinkedHashMap<>();
        properties.put(Component.RUNTIME, render(runtimeProperties(spec, model, topics, problems)));
        properties.put(Component.ROUTER, render(routerProperties(spec, model, topics)));
        properties.put(Component.CACHE_INDEX, render(cacheIndexProperties(spec, topics)));

        OwnerReference owner = new OwnerReferenceBuilder().withApiVersion(InferencePool.GROUP + "/" + InferencePool.VERSION)
                .withKind(InferencePool.KIND).withName(name).withUid(pool.getMetadata().getUid())
                .withController(true).withBlockOwnerDeletion(true).build();
        ConfigMap config = new ConfigMapBuilder()
                .withNewMetadata().withName(name + "-config").withNamespace(namespace)
                .withLabels(PoolLabels.of(name, Component.ROUTER)).addToLabels(PoolLabels.COMPONENT, "config")
                .withOwnerReferences(owner).endMetadata()
                .withData(dataOf(properties))
                .build();

        List<HasMetadata> objects = new ArrayList<>();
        objects.add(config);
        int runtimePort = spec.getTargetPorts().getFirst().getNumber();
        Map<String, String> runtimePodLabels = new LinkedHashMap<>(PoolLabels.of(name, Component.RUNTIME));
        if (spec.getSelector() != null) {
            // Gateway API Inference Extension: the pool's selector picks its model servers, so they carry its labels.
            spec.getSelector().getMatchLabels().forEach(runtimePodLabels::putIfAbsent);
        }
        objects.add(deployment(pool, owner, Component.RUNTIME, spec.getReplicas(), runtimePodLabels,
                runtimeContainer(spec, model, runtimePort), model, config, properties.get(Component.RUNTIME)));
        objects.add(service(name, namespace, owner, Component.RUNTIME, runtimePort, true));
        objects.add(deployment(pool, owner, Component.ROUTER, spec.getRouting().getRouterReplicas(),
                PoolLabels.of(name, Component.ROUTER), routerContainer(spec, model), model, config, properties.get(Component.ROUTER)));
        objects.add(service(name, namespace, owner, Component.ROUTER, Component.ROUTER.port(), false));
        // One writer of the kv-index snapshots per pool (ARCHITECTURE: the index service is partitioned by pool).
        objects.add(deployment(pool, owner, Component.CACHE_INDEX, 1, PoolLabels.of(name, Component.CACHE_INDEX),
                plainContainer(Component.CACHE_INDEX, defaults.image(Component.CACHE_INDEX)),
                ModelSource.NONE, config, properties.get(Component.CACHE_INDEX)));
        objects.add(service(name, namespace, owner, Component.CACHE_INDEX, Component.CACHE_INDEX.port(), false));

        String endpoint = routerUrl(pool) + "/v1";
        String tenantsSecret = spec.getTenants() == null || spec.getTenants().getSecretRef() == null
                ? null : spec.getTenants().getSecretRef().getName();
        return new PoolPlan(objects, topics, endpoint, PoolLabels.runtimeSelector(name), tenantsSecret, List.copyOf(problems));
    }

    // ------------------------------------------------------------------ configuration

    /** The pool's topics alone (what following its {@code pod-status} needs), without planning its objects. */
    public TopicsPlan topics(InferencePool pool) {
        KafkaSpec kafka = pool.getSpec().getKafka();
        String namespace = pool.getMetadata().getNamespace();
        String name = pool.getMetadata().getName();
        String prefix = kafka.getTopicPrefix() != null ? kafka.getTopicPrefix() : "kvmesh." + namespace + "." + name;
        return new TopicsPlan(kafka.getBootstrapServers(), prefix, kafka.getPartitions(), kafka.getReplicationFactor(),
                kafka.getEventRetention());
    }

    /** Where the pool's routers answer inside the cluster (their Service); the OpenAI endpoint is this + {@code /v1}. */
    public String routerUrl(InferencePool pool) {
        return "http://" + Component.ROUTER.objectName(pool.getMetadata().getName()) + "." + pool.getMetadata().getNamespace()
                + ".svc:" + Component.ROUTER.port();
    }

    private static void kafka(Map<String, String> p, TopicsPlan topics) {
        p.put("kvmesh.kafka.bootstrap-servers", topics.bootstrapServers());
        p.put("kvmesh.kafka.topic-prefix", topics.prefix());
        p.put("kvmesh.kafka.partitions", String.valueOf(topics.partitions()));
        // The operator creates the topics (with the pool's replication); a pod must not race it with other settings.
        p.put("kvmesh.kafka.create-topics", "false");
        p.put("kvmesh.kafka.event-retention", topics.eventRetention());
    }

    private Map<String, String> runtimeProperties(InferencePoolSpec spec, ModelSource model, TopicsPlan topics, List<String> problems) {
        RuntimeSpec runtime = spec.getRuntime();
        Map<String, String> p = new TreeMap<>();
        p.put("quarkus.http.port", String.valueOf(spec.getTargetPorts().getFirst().getNumber()));
        p.put("kvmesh.backend", runtime.getBackend().value());
        p.put("kvmesh.model-id", spec.getModel().getId());
        model.path().ifPresent(path -> p.put("kvmesh.model-path", path));
        p.put("kvmesh.block-size", String.valueOf(runtime.getBlockSize()));
        if (runtime.getKvCacheBlocks() != null) {
            p.put("kvmesh.kv-blocks", String.valueOf(runtime.getKvCacheBlocks()));
        } else {
            long mib = mebibytes(runtime.getKvCacheSize(), "spec.runtime.kvCacheSize", problems);
            if (mib > 0) {
                p.put("kvmesh.kv-cache-mib", String.valueOf(mib));
            }
        }
        if (runtime.getHostSwapSize() == null) {
            // No host tier: LAMPS cannot swap (a swap decision becomes a discard, counted).
            p.put("kvmesh.host-blocks", "0");
        } else {
            long mib = mebibytes(runtime.getHostSwapSize(), "spec.runtime.hostSwapSize", problems);
            if (mib > 0) {
                p.put("kvmesh.host-swap-mib", String.valueOf(mib));
            }
        }
        LampsSpec lamps = spec.getLamps();
        p.put("kvmesh.lamps.policy", lamps.getPolicy().value());
        p.put("kvmesh.lamps.default-api-duration", lamps.getDefaultApiDuration());
        // Quoted: a tool name may contain dots, which would otherwise nest the key.
        lamps.getToolApiDurations().forEach((tool, duration) ->
                p.put("kvmesh.lamps.tool-api-durations.\"" + tool + "\"", duration));
        kafka(p, topics);
        return p;
    }

    private Map<String, String> routerProperties(InferencePoolSpec spec, ModelSource model, TopicsPlan topics) {
        RoutingSpec routing = spec.getRouting();
        Map<String, String> p = new TreeMap<>();
        p.put("quarkus.http.port", String.valueOf(Component.ROUTER.port()));
        p.put("kvmesh.policy", routing.getPolicy().value());
        // The router tokenizes as the pods do: the model file's tokenizer (the sim backend's byte tokenizer without).
        model.path().ifPresent(path -> p.put("kvmesh.model-path", path));
        p.put("kvmesh.block-size", String.valueOf(spec.getRuntime().getBlockSize()));
        p.put("kvmesh.weights.prefix", number(routing.getWeights().getPrefix()));
        p.put("kvmesh.weights.host-block", number(routing.getWeights().getHostBlock()));
        p.put("kvmesh.weights.queue", number(routing.getWeights().getQueue()));
        p.put("kvmesh.weights.kv-usage", number(routing.getWeights().getKvUsage()));
        p.put("kvmesh.guard.enabled", String.valueOf(routing.getHotSpotGuard().isEnabled()));
        p.put("kvmesh.guard.balance-abs-threshold", String.valueOf(routing.getHotSpotGuard().getBalanceAbsThreshold()));
        p.put("kvmesh.guard.balance-rel-threshold", number(routing.getHotSpotGuard().getBalanceRelThreshold()));
        p.put("kvmesh.guard.cache-threshold", number(routing.getHotSpotGuard().getCacheThreshold()));
        p.put("kvmesh.groups.window", routing.getPrefixGroups().getWindow());
        p.put("kvmesh.groups.min-shared-blocks", String.valueOf(routing.getPrefixGroups().getMinSharedBlocks()));
        p.put("kvmesh.groups.max-wait", routing.getPrefixGroups().getMaxWait());
        p.put("kvmesh.speculative.ttl", routing.getSpeculativeTtl());
        p.put("kvmesh.approximate.blocks-per-pod", String.valueOf(routing.getApproximateBlocksPerPod()));
        p.put("kvmesh.max-tries", String.valueOf(routing.getMaxTries()));
        kafka(p, topics);
        return p;
    }

    private Map<String, String> cacheIndexProperties(InferencePoolSpec spec, TopicsPlan topics) {
        Map<String, String> p = new TreeMap<>();
        p.put("quarkus.http.port", String.valueOf(Component.CACHE_INDEX.port()));
        p.put("kvmesh.model-id", spec.getModel().getId());
        p.put("kvmesh.block-size", String.valueOf(spec.getRuntime().getBlockSize()));
        kafka(p, topics);
        return p;
    }

    static String render(Map<String, String> properties) {
        StringBuilder text = new StringBuilder("# Written by the kvmesh operator from the InferencePool; edits are overwritten.\n");
        properties.forEach((key, value) -> text.append(key).append('=').append(value.replace("\\", "\\\\")).append('\n'));
        return text.toString();
    }

    private static Map<String, String> dataOf(Map<Component, String> properties) {
        Map<String, String> data = new TreeMap<>();
        properties.forEach((component, text) -> data.put(component.label() + ".properties", text));
        return data;
    }

    private static String number(double value) {
        return BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
    }

    /** A Kubernetes quantity in whole MiB (at least 1), or a problem naming the field. */
    static long mebibytes(String quantity, String field, List<String> problems) {
        try {
            BigDecimal bytes = Quantity.getAmountInBytes(new Quantity(quantity));
            long mib = bytes.divide(BigDecimal.valueOf(1L << 20), java.math.RoundingMode.FLOOR).longValueExact();
            if (mib < 1) {
                problems.add(field + " " + quantity + " is less than 1Mi");
                return -1;
            }
            return mib;
        } catch (IllegalArgumentException | ArithmeticException e) {
            problems.add(field + " \"" + quantity + "\" is not a size (use 256Mi, 8Gi...)");
            return -1;
        }
    }

    static String digest(String text) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(hash, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    // ------------------------------------------------------------------ objects

    private Container runtimeContainer(InferencePoolSpec spec, ModelSource model, int port) {
        RuntimeSpec runtime = spec.getRuntime();
        String image = runtime.getImage() != null ? runtime.getImage() : defaults.image(Component.RUNTIME);
        ContainerBuilder container = new ContainerBuilder(plainContainer(Component.RUNTIME, image))
                .withPorts(List.of(new io.fabric8.kubernetes.api.model.ContainerPortBuilder()
                        .withName("http").withContainerPort(port).withProtocol("TCP").build()))
                .withReadinessProbe(probe("/q/health/ready", port))
                .withLivenessProbe(probe("/q/health/live", port))
                .addToEnv(fieldRef("POD_NAME", "metadata.name"), fieldRef("POD_IP", "status.podIP"),
                        // The pod's id in KV events and the address routers reach it at.
                        new EnvVarBuilder().withName("KVMESH_POD_ID").withValue("$(POD_NAME)").build(),
                        new EnvVarBuilder().withName("KVMESH_ADVERTISED_ADDRESS").withValue("$(POD_IP):" + port).build());
        container.withResources(resources(runtime.getResources(), runtime.getBackend()));
        model.mount().ifPresent(container::addToVolumeMounts);
        return container.build();
    }

    private Container routerContainer(InferencePoolSpec spec, ModelSource model) {
        ContainerBuilder container = new ContainerBuilder(plainContainer(Component.ROUTER, defaults.image(Component.ROUTER)));
        model.mount().ifPresent(container::addToVolumeMounts);
        if (spec.getTenants() != null && spec.getTenants().getSecretRef() != null) {
            container.addToVolumeMounts(new VolumeMountBuilder().withName("tenants").withMountPath(TENANTS_DIR).withReadOnly(true).build())
                    // The router reads the tenants' properties besides its own (router README, "Tenants").
                    .addToEnv(new EnvVarBuilder().withName("QUARKUS_CONFIG_LOCATIONS").withValue(TENANTS_DIR + "/tenants.properties").build());
        }
        return container.build();
    }

    /** A service container: its config mounted where Quarkus reads it, an HTTP port, health probes. */
    private Container plainContainer(Component component, String image) {
        return new ContainerBuilder()
                .withName(component.label())
                .withImage(image)
                .withImagePullPolicy(defaults.imagePullPolicy())
                .withPorts(new io.fabric8.kubernetes.api.model.ContainerPortBuilder()
                        .withName("http").withContainerPort(component.port()).withProtocol("TCP").build())
                .withReadinessProbe(probe("/q/health/ready", component.port()))
                .withLivenessProbe(probe("/q/health/live", component.port()))
                .withVolumeMounts(new VolumeMountBuilder().withName("config").withMountPath(CONFIG_DIR).withReadOnly(true).build())
                .build();
    }

    private Deployment deployment(InferencePool pool, OwnerReference owner, Component component, int replicas,
                                  Map<String, String> podLabels, Container container, ModelSource model, ConfigMap config,
                                  String properties) {
        String name = pool.getMetadata().getName();
        List<Volume> volumes = new ArrayList<>();
        volumes.add(new VolumeBuilder().withName("config").withNewConfigMap().withName(config.getMetadata().getName())
                .addNewItem().withKey(component.label() + ".properties").withPath("application.properties").endItem()
                .endConfigMap().build());
        List<Container> init = new ArrayList<>();
        if (component != Component.CACHE_INDEX) {
            model.volume().ifPresent(volumes::add);
            model.download(defaults.downloadImage()).ifPresent(init::add);
        }
        if (component == Component.ROUTER && pool.getSpec().getTenants() != null && pool.getSpec().getTenants().getSecretRef() != null) {
            var ref = pool.getSpec().getTenants().getSecretRef();
            volumes.add(new VolumeBuilder().withName("tenants").withNewSecret().withSecretName(ref.getName())
                    .addNewItem().withKey(ref.getKey()).withPath("tenants.properties").endItem().endSecret().build());
        }
        String digest = digest(properties);
        return new DeploymentBuilder()
                .withNewMetadata().withName(component.objectName(name)).withNamespace(pool.getMetadata().getNamespace())
                .withLabels(PoolLabels.of(name, component)).withOwnerReferences(owner).endMetadata()
                .withNewSpec()
                .withReplicas(replicas)
                .withNewSelector().withMatchLabels(PoolLabels.selector(name, component)).endSelector()
                .withNewTemplate()
                .withNewMetadata().withLabels(podLabels).addToAnnotations(PoolLabels.CONFIG_DIGEST, digest).endMetadata()
                .withNewSpec()
                .withInitContainers(init)
                .withContainers(container)
                .withVolumes(volumes)
                .endSpec()
                .endTemplate()
                .endSpec()
                .build();
    }

    private static Service service(String pool, String namespace, OwnerReference owner, Component component, int port, boolean headless) {
        ServiceBuilder service = new ServiceBuilder()
                .withNewMetadata().withName(component.objectName(pool)).withNamespace(namespace)
                .withLabels(PoolLabels.of(pool, component)).withOwnerReferences(owner).endMetadata()
                .withNewSpec()
                .withSelector(PoolLabels.selector(pool, component))
                .addNewPort().withName("http").withPort(port).withNewTargetPort(port).withProtocol("TCP").endPort()
                .endSpec();
        if (headless) {
            // Routers reach each runtime pod at its own address (from pod-status); DNS lists them all.
            service.editSpec().withClusterIP("None").withPublishNotReadyAddresses(false).endSpec();
        }
        return service.build();
    }

    private static ResourceRequirements resources(ResourceRequirements requested, ComputeBackend backend) {
        ResourceRequirementsBuilder resources = requested == null ? new ResourceRequirementsBuilder() : new ResourceRequirementsBuilder(requested);
        if (backend == ComputeBackend.CUDA && (requested == null || requested.getLimits() == null
                || !requested.getLimits().containsKey("nvidia.com/gpu"))) {
            // A cuda pod without a GPU limit would be scheduled where no device is.
            resources.addToLimits("nvidia.com/gpu", new Quantity("1"));
        }
        return resources.build();
    }

    private static Probe probe(String path, int port) {
        return new ProbeBuilder().withNewHttpGet().withPath(path).withNewPort(port).withScheme("HTTP").endHttpGet()
                .withPeriodSeconds(5).withFailureThreshold(path.endsWith("live") ? 6 : 3).build();
    }

    private static EnvVar fieldRef(String name, String path) {
        return new EnvVarBuilder().withName(name).withNewValueFrom().withNewFieldRef().withFieldPath(path)
                .endFieldRef().endValueFrom().build();
    }
}
