package io.kvmesh.operator.crd.v1alpha1;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;

/** Pool YAML as users and the operator write it reads into the types, and back. */
class InferencePoolYamlTest {

    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    @Test
    void fullPoolReadsIntoTheTypes() {
        InferencePool pool = read("full-pool.yaml");

        assertThat(pool.getMetadata().getName()).isEqualTo("llama-chat");
        assertThat(pool.getMetadata().getNamespace()).isEqualTo("team-a");
        InferencePoolSpec spec = pool.getSpec();
        assertThat(spec.getModel().getId()).isEqualTo("llama-3.2-1b-instruct");
        assertThat(spec.getModel().getSource()).endsWith(".gguf");
        assertThat(spec.getModel().getFormat()).isEqualTo(ModelFormat.GGUF);
        assertThat(spec.getReplicas()).isEqualTo(3);

        RuntimeSpec runtime = spec.getRuntime();
        assertThat(runtime.getImage()).isEqualTo("registry.example.com/kvmesh/gpu-runtime-service:0.1.0");
        assertThat(runtime.getBackend()).isEqualTo(ComputeBackend.CUDA);
        assertThat(runtime.getResources().getLimits()).containsEntry("nvidia.com/gpu", new Quantity("1"));
        assertThat(runtime.getResources().getRequests()).containsEntry("memory", new Quantity("16Gi"));
        assertThat(runtime.getBlockSize()).isEqualTo(32);
        assertThat(runtime.getKvCacheBlocks()).isEqualTo(8192);
        assertThat(Quantity.getAmountInBytes(new Quantity(runtime.getKvCacheSize())).longValueExact())
                .isEqualTo(8L << 30);
        assertThat(runtime.getHostSwapSize()).isEqualTo("16Gi");

        RoutingSpec routing = spec.getRouting();
        assertThat(routing.getPolicy()).isEqualTo(RoutingPolicy.APPROXIMATE_PREFIX);
        assertThat(routing.getRouterReplicas()).isEqualTo(2);
        assertThat(routing.getWeights().getPrefix()).isEqualTo(1.5);
        assertThat(routing.getWeights().getHostBlock()).isEqualTo(0.25);
        assertThat(routing.getHotSpotGuard().isEnabled()).isFalse();
        assertThat(routing.getHotSpotGuard().getBalanceAbsThreshold()).isEqualTo(16);
        assertThat(routing.getPrefixGroups().getWindow()).isEqualTo("20ms");
        assertThat(routing.getSpeculativeTtl()).isEqualTo("500ms");
        assertThat(routing.getApproximateBlocksPerPod()).isEqualTo(16384);
        assertThat(routing.getMaxTries()).isEqualTo(2);

        assertThat(spec.getLamps().getPolicy()).isEqualTo(PausePolicy.INFERCEPT);
        assertThat(spec.getLamps().getToolApiDurations())
                .containsExactly(Map.entry("calculator", "5ms"), Map.entry("web_search", "2s"),
                        Map.entry("human_reply", "30s"));

        assertThat(spec.getKafka().getBootstrapServers()).isEqualTo("kafka-0.kafka:9092,kafka-1.kafka:9092");
        assertThat(spec.getKafka().getTopicPrefix()).isEqualTo("kvmesh.team-a.llama-chat");
        assertThat(spec.getKafka().getPartitions()).isEqualTo(12);
        assertThat(spec.getKafka().getReplicationFactor()).isEqualTo(3);
        assertThat(spec.getKafka().getEventRetention()).isEqualTo("2h");

        assertThat(spec.getTenants().getSecretRef().getName()).isEqualTo("llama-chat-tenants");
        assertThat(spec.getSelector().getMatchLabels()).containsEntry("app", "llama-chat");
        assertThat(spec.getTargetPorts()).extracting(Port::getNumber).containsExactly(8000);
        assertThat(spec.getEndpointPickerRef().getName()).isEqualTo("llama-chat-epp");
        assertThat(spec.getEndpointPickerRef().getPort().getNumber()).isEqualTo(9002);
        assertThat(spec.getEndpointPickerRef().getFailureMode()).isEqualTo(EndpointPickerFailureMode.FailOpen);

        InferencePoolStatus status = pool.getStatus();
        assertThat(status.getObservedGeneration()).isEqualTo(3L);
        assertThat(status.getReadyReplicas()).isEqualTo(2);
        assertThat(status.getPodsReady()).isEqualTo("2/3");
        assertThat(status.getConditions()).extracting(Condition::getType)
                .containsExactly(InferencePoolStatus.READY, InferencePoolStatus.DEGRADED);
        assertThat(status.getConditions().getFirst().getObservedGeneration()).isEqualTo(3L);
        assertThat(status.getMetrics().getPrefixHitRate()).isEqualTo(0.62);
        assertThat(status.getMetrics().getUpdatedAt()).isEqualTo("2026-01-05T10:02:00Z");
    }

    @Test
    void minimalPoolTakesTheDefaults() {
        InferencePoolSpec spec = read("minimal-pool.yaml").getSpec();

        assertThat(spec.getModel().getId()).isEqualTo("kvmesh-sim");
        assertThat(spec.getModel().getFormat()).isEqualTo(ModelFormat.GGUF);
        assertThat(spec.getReplicas()).isEqualTo(1);
        assertThat(spec.getRuntime().getBackend()).isEqualTo(ComputeBackend.AUTO);
        assertThat(spec.getRuntime().getBlockSize()).isEqualTo(16);
        assertThat(spec.getRuntime().getKvCacheSize()).isEqualTo("256Mi");
        assertThat(spec.getRuntime().getKvCacheBlocks()).isNull();
        assertThat(spec.getRouting().getPolicy()).isEqualTo(RoutingPolicy.PREFIX_AWARE);
        assertThat(spec.getRouting().getWeights().getQueue()).isEqualTo(0.3);
        assertThat(spec.getRouting().getHotSpotGuard().getCacheThreshold()).isEqualTo(0.3);
        assertThat(spec.getRouting().getPrefixGroups().getWindow()).isEqualTo("10ms");
        assertThat(spec.getLamps().getPolicy()).isEqualTo(PausePolicy.LAMPS);
        assertThat(spec.getKafka().getPartitions()).isEqualTo(4);
        assertThat(spec.getKafka().getTopicPrefix()).isNull();
        assertThat(spec.getTenants()).isNull();
        assertThat(spec.getTargetPorts()).extracting(Port::getNumber)
                .containsExactly(InferencePoolSpec.DEFAULT_TARGET_PORT);
        assertThat(spec.getEndpointPickerRef()).isNull();
    }

    @Test
    void poolWritesBackAsItWasRead() {
        JsonNode original = SERIALIZATION.unmarshal(resource("full-pool.yaml"), JsonNode.class);
        // Through JSON text, so that a long 3 and an int 3 compare equal.
        JsonNode written = SERIALIZATION.unmarshal(SERIALIZATION.asJson(read("full-pool.yaml")), JsonNode.class);

        assertThat(written.get("spec")).isEqualTo(original.get("spec"));
        assertThat(written.get("status")).isEqualTo(original.get("status"));
    }

    @Test
    void samplesUseOnlyFieldsTheSchemaKnows(@TempDir Path crdDir) throws IOException {
        CustomResourceDefinition crd = SERIALIZATION.unmarshal(
                Files.readString(InferencePoolCrdGenerator.generate(crdDir)), CustomResourceDefinition.class);
        JSONSchemaProps schema = crd.getSpec().getVersions().getFirst().getSchema().getOpenAPIV3Schema();
        for (String sample : List.of("full-pool.yaml", "minimal-pool.yaml")) {
            JsonNode pool = SERIALIZATION.unmarshal(resource(sample), JsonNode.class);
            List<String> unknown = new ArrayList<>();
            for (String root : List.of("spec", "status")) {
                if (pool.has(root)) {
                    collectUnknownFields("." + root, pool.get(root), schema.getProperties().get(root), unknown);
                }
            }
            assertThat(unknown).as("fields the apiserver would prune from %s", sample).isEmpty();
        }
    }

    @Test
    void unknownPolicyIsRefusedRatherThanGuessed() {
        String yaml = new String(readAllBytes("minimal-pool.yaml")).replace("spec:\n", "spec:\n  routing:\n"
                + "    policy: fastest\n");
        assertThatThrownBy(() -> SERIALIZATION.unmarshal(yaml, InferencePool.class))
                .hasStackTraceContaining("fastest");
    }

    private static void collectUnknownFields(String path, JsonNode value, JSONSchemaProps schema, List<String> unknown) {
        if (value.isArray()) {
            value.forEach(item -> collectUnknownFields(path + "[]", item, schema.getItems().getSchema(), unknown));
            return;
        }
        if (!value.isObject()) {
            return;
        }
        value.properties().forEach(field -> {
            String fieldPath = path + "." + field.getKey();
            if (schema.getProperties() != null && schema.getProperties().containsKey(field.getKey())) {
                collectUnknownFields(fieldPath, field.getValue(), schema.getProperties().get(field.getKey()), unknown);
            } else if (schema.getAdditionalProperties() != null && schema.getAdditionalProperties().getSchema() != null) {
                collectUnknownFields(fieldPath, field.getValue(), schema.getAdditionalProperties().getSchema(), unknown);
            } else {
                unknown.add(fieldPath);
            }
        });
    }

    private static InferencePool read(String sample) {
        return SERIALIZATION.unmarshal(resource(sample), InferencePool.class);
    }

    private static InputStream resource(String sample) {
        InputStream in = InferencePoolYamlTest.class.getResourceAsStream("/pools/" + sample);
        assertThat(in).as("test resource pools/%s", sample).isNotNull();
        return in;
    }

    private static byte[] readAllBytes(String sample) {
        try (InputStream in = resource(sample)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
