package io.kvmesh.operator.crd.v1alpha1;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.kubernetes.model.annotation.SpecReplicas;

/** What a pool serves and how: model, runtime pods, routing, LAMPS, Kafka, tenants, and the Gateway API fields. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"model", "replicas", "runtime", "routing", "lamps", "kafka", "tenants", "selector", "targetPorts",
        "endpointPickerRef"})
public class InferencePoolSpec {

    /** The runtime pods' HTTP port ({@code quarkus.http.port} of gpu-runtime-service). */
    public static final int DEFAULT_TARGET_PORT = 8000;

    @Required
    @JsonPropertyDescription("The model the pool serves.")
    private ModelSpec model;

    @Min(0)
    @Default("1")
    @SpecReplicas
    @JsonPropertyDescription("Runtime pods (model servers) in the pool; 0 stops them and keeps the rest of the pool.")
    private int replicas = 1;

    @Default("{}")
    @JsonPropertyDescription("The runtime pods: image, compute backend, resources and KV cache.")
    private RuntimeSpec runtime = new RuntimeSpec();

    @Default("{}")
    @JsonPropertyDescription("How the pool's routers pick a runtime pod for each request.")
    private RoutingSpec routing = new RoutingSpec();

    @Default("{}")
    @JsonPropertyDescription("What happens to a request's KV blocks while it waits on a tool or API call.")
    private LampsSpec lamps = new LampsSpec();

    @Required
    @JsonPropertyDescription("The Kafka cluster that carries the pool's KV events, pod status and index snapshots.")
    private KafkaSpec kafka;

    @JsonPropertyDescription("API keys and cache salts of the pool's tenants; unset, the pool is open to any client.")
    private TenantsSpec tenants;

    @JsonPropertyDescription("Gateway API Inference Extension: labels that select the pool's runtime pods. The operator "
            + "puts these labels on the pods it creates, besides its own; unset, only its own labels select them.")
    private PodSelector selector;

    @Size(min = 1, max = 1)
    @Default("[{\"number\": " + DEFAULT_TARGET_PORT + "}]")
    @JsonPropertyDescription("Gateway API Inference Extension: the port the runtime pods serve the OpenAI API on "
            + "(exactly one).")
    private List<Port> targetPorts = new ArrayList<>(List.of(new Port(DEFAULT_TARGET_PORT)));

    @JsonPropertyDescription("Gateway API Inference Extension: an endpoint picker that a gateway consults for this "
            + "pool. Unset, the pool's own routers pick endpoints.")
    private EndpointPickerRef endpointPickerRef;

    public ModelSpec getModel() {
        return model;
    }

    public void setModel(ModelSpec model) {
        this.model = model;
    }

    public int getReplicas() {
        return replicas;
    }

    public void setReplicas(int replicas) {
        this.replicas = replicas;
    }

    public RuntimeSpec getRuntime() {
        return runtime;
    }

    public void setRuntime(RuntimeSpec runtime) {
        this.runtime = runtime;
    }

    public RoutingSpec getRouting() {
        return routing;
    }

    public void setRouting(RoutingSpec routing) {
        this.routing = routing;
    }

    public LampsSpec getLamps() {
        return lamps;
    }

    public void setLamps(LampsSpec lamps) {
        this.lamps = lamps;
    }

    public KafkaSpec getKafka() {
        return kafka;
    }

    public void setKafka(KafkaSpec kafka) {
        this.kafka = kafka;
    }

    public TenantsSpec getTenants() {
        return tenants;
    }

    public void setTenants(TenantsSpec tenants) {
        this.tenants = tenants;
    }

    public PodSelector getSelector() {
        return selector;
    }

    public void setSelector(PodSelector selector) {
        this.selector = selector;
    }

    public List<Port> getTargetPorts() {
        return targetPorts;
    }

    public void setTargetPorts(List<Port> targetPorts) {
        this.targetPorts = targetPorts;
    }

    public EndpointPickerRef getEndpointPickerRef() {
        return endpointPickerRef;
    }

    public void setEndpointPickerRef(EndpointPickerRef endpointPickerRef) {
        this.endpointPickerRef = endpointPickerRef;
    }
}
