package io.kvmesh.operator.crd.v1alpha1;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeType;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;

/**
 * The generated CRD: the checked-in copy is current, and the schema says what the apiserver must enforce. The schema
 * tests read the freshly generated file, so they describe the Java types whatever state crds/ is in.
 */
class InferencePoolCrdTest {

    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
    private static final Path MODULE = Path.of(System.getProperty("basedir", "")).toAbsolutePath();
    private static final Path GENERATED_DIR = MODULE.resolve("target/crds");
    private static final Path CHECKED_IN = MODULE.resolveSibling("crds").resolve(InferencePoolCrdGenerator.FILE_NAME);

    private static String generatedYaml;
    private static CustomResourceDefinitionVersion version;

    @BeforeAll
    static void generate() throws IOException {
        generatedYaml = Files.readString(InferencePoolCrdGenerator.generate(GENERATED_DIR));
        CustomResourceDefinition crd = SERIALIZATION.unmarshal(generatedYaml, CustomResourceDefinition.class);
        assertThat(crd.getSpec().getVersions()).hasSize(1);
        version = crd.getSpec().getVersions().getFirst();
    }

    @Test
    void checkedInCrdIsTheOneTheTypesGenerate() throws IOException {
        String refresh = "Refresh it from the copy this test just generated: cp operator/target/crds/"
                + InferencePoolCrdGenerator.FILE_NAME + " crds/ (from the repository root), then commit it.";
        if (!Files.exists(CHECKED_IN)) {
            fail(CHECKED_IN + " is missing. " + refresh);
        }
        String checkedIn = Files.readString(CHECKED_IN);
        if (!checkedIn.equals(generatedYaml)) {
            fail("crds/" + InferencePoolCrdGenerator.FILE_NAME + " is stale: the types in "
                    + InferencePool.class.getPackageName() + " generate something else ("
                    + firstDifference(checkedIn, generatedYaml) + "). " + refresh);
        }
    }

    @Test
    void crdNamesTheResource() {
        CustomResourceDefinition crd = SERIALIZATION.unmarshal(generatedYaml, CustomResourceDefinition.class);
        assertThat(crd.getApiVersion()).isEqualTo("apiextensions.k8s.io/v1");
        assertThat(crd.getMetadata().getName()).isEqualTo("inferencepools.kvmesh.io");
        assertThat(crd.getSpec().getGroup()).isEqualTo("kvmesh.io");
        assertThat(crd.getSpec().getScope()).isEqualTo("Namespaced");
        assertThat(crd.getSpec().getNames().getKind()).isEqualTo("InferencePool");
        assertThat(crd.getSpec().getNames().getPlural()).isEqualTo("inferencepools");
        assertThat(crd.getSpec().getNames().getSingular()).isEqualTo("inferencepool");
        assertThat(crd.getSpec().getNames().getShortNames()).containsExactly("kvpool");
        assertThat(version.getName()).isEqualTo("v1alpha1");
        assertThat(version.getServed()).isTrue();
        assertThat(version.getStorage()).isTrue();
    }

    @Test
    void statusIsASubresourceAndReplicasScale() {
        assertThat(version.getSubresources().getStatus()).isNotNull();
        assertThat(version.getSubresources().getScale().getSpecReplicasPath()).isEqualTo(".spec.replicas");
        assertThat(version.getSubresources().getScale().getStatusReplicasPath()).isEqualTo(".status.replicas");
        assertThat(version.getSubresources().getScale().getLabelSelectorPath()).isEqualTo(".status.selector");
    }

    @Test
    void printerColumnsComeInDeclaredOrderAndPointAtFields() {
        List<CustomResourceColumnDefinition> columns = version.getAdditionalPrinterColumns();
        assertThat(columns).extracting(CustomResourceColumnDefinition::getName)
                .containsExactly("Pods", "Ready", "Policy", "Hit Rate", "KV Usage", "Endpoint", "Age");
        for (CustomResourceColumnDefinition column : columns) {
            if (column.getJsonPath().startsWith(".metadata.")) {
                continue;
            }
            // A condition filter selects inside the conditions array; the rest must name a schema field.
            String path = column.getJsonPath().replaceFirst("\\[\\?\\(@\\.type==\"(\\w+)\"\\)]", "[]");
            assertThat(schemaAt(path)).as("schema field behind column %s (%s)", column.getName(), path).isNotNull();
        }
        assertThat(columns).filteredOn(column -> column.getName().equals("Endpoint"))
                .extracting(CustomResourceColumnDefinition::getPriority).containsExactly(1);
    }

    @Test
    void requiredFieldsAreTheOnesWithoutAMeaningfulDefault() {
        assertThat(schemaAt("").getRequired()).containsExactly("spec");
        assertThat(schemaAt(".spec").getRequired()).containsExactlyInAnyOrder("model", "kafka");
        assertThat(schemaAt(".spec.model").getRequired()).containsExactly("id");
        assertThat(schemaAt(".spec.kafka").getRequired()).containsExactly("bootstrapServers");
        assertThat(schemaAt(".spec.tenants").getRequired()).containsExactly("secretRef");
        assertThat(schemaAt(".spec.tenants.secretRef").getRequired()).containsExactly("name");
        assertThat(schemaAt(".spec.selector").getRequired()).containsExactly("matchLabels");
        assertThat(schemaAt(".spec.targetPorts[]").getRequired()).containsExactly("number");
        assertThat(schemaAt(".spec.endpointPickerRef").getRequired()).containsExactly("name");
        assertThat(schemaAt(".spec.endpointPickerRef.port").getRequired()).containsExactly("number");
    }

    @Test
    void enumsListTheValuesTheServicesAccept() {
        assertThat(enumOf(".spec.routing.policy"))
                .containsExactlyInAnyOrder("prefix-aware", "approximate-prefix", "least-load", "round-robin", "random");
        assertThat(enumOf(".spec.lamps.policy"))
                .containsExactlyInAnyOrder("keep", "discard", "swap", "infercept", "lamps");
        assertThat(enumOf(".spec.runtime.backend")).containsExactlyInAnyOrder("auto", "cpu", "cuda", "sim");
        assertThat(enumOf(".spec.model.format")).containsExactly("gguf");
        assertThat(enumOf(".spec.endpointPickerRef.failureMode")).containsExactlyInAnyOrder("FailOpen", "FailClose");
    }

    @Test
    void numbersHaveTheirRanges() {
        assertRange(".spec.replicas", 0.0, null);
        assertRange(".spec.runtime.blockSize", 1.0, 256.0);
        assertRange(".spec.runtime.kvCacheBlocks", 1.0, null);
        assertRange(".spec.routing.routerReplicas", 1.0, null);
        assertRange(".spec.routing.maxTries", 1.0, null);
        assertRange(".spec.routing.weights.prefix", 0.0, null);
        assertRange(".spec.routing.hotSpotGuard.balanceAbsThreshold", 0.0, null);
        assertRange(".spec.routing.hotSpotGuard.balanceRelThreshold", 1.0, null);
        assertRange(".spec.routing.hotSpotGuard.cacheThreshold", 0.0, 1.0);
        assertRange(".spec.routing.prefixGroups.minSharedBlocks", 1.0, null);
        assertRange(".spec.kafka.partitions", 1.0, null);
        assertRange(".spec.kafka.replicationFactor", 1.0, null);
        assertRange(".spec.targetPorts[].number", 1.0, 65535.0);
        assertRange(".spec.endpointPickerRef.port.number", 1.0, 65535.0);
        assertThat(schemaAt(".spec.targetPorts").getMinItems()).isEqualTo(1L);
        assertThat(schemaAt(".spec.targetPorts").getMaxItems()).isEqualTo(1L);
    }

    @Test
    void durationsAcceptWhatTheServicesReadAndNothingElse() {
        for (String path : List.of(".spec.routing.speculativeTtl", ".spec.routing.prefixGroups.window",
                ".spec.routing.prefixGroups.maxWait", ".spec.lamps.defaultApiDuration", ".spec.kafka.eventRetention")) {
            Pattern duration = patternOf(path);
            assertThat(List.of("10ms", "2s", "0s", "5m", "1h")).allMatch(s -> duration.matcher(s).find());
            assertThat(List.of("2", "2 s", "PT2S", "1.5s", "-1s", "2sec", "")).noneMatch(s -> duration.matcher(s).find());
        }
    }

    @Test
    void byteSizesAreStringsOfKubernetesQuantities() {
        for (String path : List.of(".spec.runtime.kvCacheSize", ".spec.runtime.hostSwapSize")) {
            assertThat(schemaAt(path).getType()).as(path).isEqualTo("string");
            Pattern quantity = patternOf(path);
            assertThat(List.of("256Mi", "8Gi", "1.5Gi", "0", "1000000", "500M")).allMatch(s -> quantity.matcher(s).find());
            assertThat(List.of("256MB", "-1Gi", "8 Gi", "lots", "")).noneMatch(s -> quantity.matcher(s).find());
        }
    }

    @Test
    void namesAndAddressesHaveTheirPatterns() {
        Pattern bootstrap = patternOf(".spec.kafka.bootstrapServers");
        assertThat(List.of("kafka:9092", "my-cluster-kafka-bootstrap.kafka:9092", "a:1,b:2", "10.0.0.1:9092"))
                .allMatch(s -> bootstrap.matcher(s).find());
        assertThat(List.of("kafka", "kafka:", "a:1, b:2", "a:1,", ":9092")).noneMatch(s -> bootstrap.matcher(s).find());

        Pattern topicPrefix = patternOf(".spec.kafka.topicPrefix");
        assertThat(topicPrefix.matcher("kvmesh.team-a.chat_pool").find()).isTrue();
        assertThat(topicPrefix.matcher("kvmesh/team").find()).isFalse();
        assertThat(schemaAt(".spec.kafka.topicPrefix").getMaxLength()).as("249 minus the longest suffix, .pod-status")
                .isEqualTo(238L);

        Pattern secretName = patternOf(".spec.tenants.secretRef.name");
        assertThat(secretName.matcher("pool-tenants").find()).isTrue();
        assertThat(secretName.matcher("Pool_Tenants").find()).isFalse();
    }

    @Test
    void schemaDefaultsAreTheJavaDefaults() {
        InferencePoolSpec spec = new InferencePoolSpec();
        // Required and optional objects have no default themselves, but their fields do.
        spec.setModel(new ModelSpec());
        spec.setKafka(new KafkaSpec());
        spec.setTenants(new TenantsSpec(new TenantsSecretRef()));
        spec.setSelector(new PodSelector());
        spec.setEndpointPickerRef(new EndpointPickerRef());
        JsonNode javaDefaults = SERIALIZATION.convertValue(spec, JsonNode.class);
        List<String> mismatches = new ArrayList<>();
        compareDefaults(".spec", schemaAt(".spec"), javaDefaults, mismatches);
        assertThat(mismatches).as("schema default vs. the field's initial value").isEmpty();
    }

    @Test
    void everyOptionalFieldHasADefaultUnlessLeavingItUnsetMeansSomething() {
        List<String> withoutDefault = new ArrayList<>();
        collectOptionalWithoutDefault(".spec", schemaAt(".spec"), withoutDefault);
        // Each of these is documented in its description: unset means "derived", "none" or "the operator's default".
        assertThat(withoutDefault).containsExactlyInAnyOrder(
                ".spec.model.source",
                ".spec.runtime.image",
                ".spec.runtime.resources",
                ".spec.runtime.kvCacheBlocks",
                ".spec.runtime.hostSwapSize",
                ".spec.lamps.toolApiDurations",
                ".spec.kafka.topicPrefix",
                ".spec.kafka.replicationFactor",
                ".spec.tenants",
                ".spec.selector",
                ".spec.endpointPickerRef",
                ".spec.endpointPickerRef.group",
                ".spec.endpointPickerRef.port");
    }

    @Test
    void everySpecFieldIsDescribedForKubectlExplain() {
        List<String> undescribed = new ArrayList<>();
        collectUndescribed(".spec", schemaAt(".spec"), undescribed);
        assertThat(undescribed).isEmpty();
    }

    private static void compareDefaults(String path, JSONSchemaProps schema, JsonNode java, List<String> mismatches) {
        if (schema.getProperties() == null) {
            return;
        }
        for (Map.Entry<String, JSONSchemaProps> property : schema.getProperties().entrySet()) {
            String childPath = path + "." + property.getKey();
            JSONSchemaProps child = property.getValue();
            JsonNode javaValue = java == null ? null : java.get(property.getKey());
            if (child.getDefault() != null && !sameValue(child.getDefault(), javaValue)) {
                mismatches.add(childPath + ": schema " + child.getDefault() + ", Java " + javaValue);
            }
            if ("object".equals(child.getType())) {
                compareDefaults(childPath, child, javaValue, mismatches);
            }
        }
    }

    private static boolean sameValue(JsonNode schemaDefault, JsonNode javaValue) {
        if (javaValue == null) {
            return false;
        }
        if (schemaDefault.isNumber() && javaValue.isNumber()) {
            return schemaDefault.decimalValue().compareTo(javaValue.decimalValue()) == 0;
        }
        if (schemaDefault.getNodeType() == JsonNodeType.OBJECT && javaValue.isObject()) {
            return schemaDefault.properties().stream()
                    .allMatch(field -> sameValue(field.getValue(), javaValue.get(field.getKey())));
        }
        return schemaDefault.equals(javaValue);
    }

    private static void collectOptionalWithoutDefault(String path, JSONSchemaProps schema, List<String> found) {
        if (schema.getProperties() == null) {
            return;
        }
        List<String> required = schema.getRequired() == null ? List.of() : schema.getRequired();
        for (Map.Entry<String, JSONSchemaProps> property : schema.getProperties().entrySet()) {
            String childPath = path + "." + property.getKey();
            JSONSchemaProps child = property.getValue();
            if (!required.contains(property.getKey()) && child.getDefault() == null) {
                found.add(childPath);
            }
            if (!childPath.equals(".spec.runtime.resources")) {
                collectOptionalWithoutDefault(childPath, child, found);
            }
        }
    }

    private static void collectUndescribed(String path, JSONSchemaProps schema, List<String> found) {
        if (schema.getProperties() == null) {
            return;
        }
        for (Map.Entry<String, JSONSchemaProps> property : schema.getProperties().entrySet()) {
            String childPath = path + "." + property.getKey();
            if (childPath.startsWith(".spec.runtime.resources.")) {
                continue; // Kubernetes' own ResourceRequirements
            }
            if (property.getValue().getDescription() == null || property.getValue().getDescription().isBlank()) {
                found.add(childPath);
            }
            JSONSchemaProps child = property.getValue();
            collectUndescribed(childPath, child.getItems() != null ? child.getItems().getSchema() : child, found);
        }
    }

    /** The schema at a path such as {@code .spec.routing.policy}; {@code []} steps into an array's items. */
    private static JSONSchemaProps schemaAt(String path) {
        JSONSchemaProps schema = version.getSchema().getOpenAPIV3Schema();
        for (String step : path.split("\\.")) {
            if (step.isEmpty()) {
                continue;
            }
            boolean items = step.endsWith("[]");
            String name = items ? step.substring(0, step.length() - 2) : step;
            schema = schema.getProperties() == null ? null : schema.getProperties().get(name);
            if (schema == null) {
                return null;
            }
            if (items) {
                schema = schema.getItems().getSchema();
            }
        }
        return schema;
    }

    private static TreeSet<String> enumOf(String path) {
        JSONSchemaProps schema = schemaAt(path);
        assertThat(schema.getEnum()).as("enum of %s", path).isNotNull();
        TreeSet<String> values = new TreeSet<>();
        schema.getEnum().forEach(value -> values.add(value.asText()));
        return values;
    }

    private static Pattern patternOf(String path) {
        String pattern = schemaAt(path).getPattern();
        assertThat(pattern).as("pattern of %s", path).isNotNull();
        return Pattern.compile(pattern);
    }

    private static void assertRange(String path, Double minimum, Double maximum) {
        JSONSchemaProps schema = schemaAt(path);
        assertThat(schema).as(path).isNotNull();
        assertThat(schema.getMinimum()).as("minimum of %s", path).isEqualTo(minimum);
        assertThat(schema.getMaximum()).as("maximum of %s", path).isEqualTo(maximum);
    }

    private static String firstDifference(String checkedIn, String generated) {
        List<String> old = Arrays.asList(checkedIn.split("\n", -1));
        List<String> fresh = Arrays.asList(generated.split("\n", -1));
        for (int i = 0; i < Math.max(old.size(), fresh.size()); i++) {
            String a = i < old.size() ? old.get(i) : "<end of file>";
            String b = i < fresh.size() ? fresh.get(i) : "<end of file>";
            if (!a.equals(b)) {
                return "line " + (i + 1) + ": checked in '" + a.strip() + "', generated '" + b.strip() + "'";
            }
        }
        return "they differ";
    }
}
