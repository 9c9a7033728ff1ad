package io.kvmesh.operator.crd.v1alpha1;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.model.annotation.LabelSelector;
import io.fabric8.kubernetes.model.annotation.StatusReplicas;

/** What the operator observed of a pool; written only by the operator, through the status subresource. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"observedGeneration", "replicas", "readyReplicas", "podsReady", "selector", "endpoint",
        "conditions", "metrics"})
public class InferencePoolStatus {

    /** Condition type: the pool serves requests (routers and at least one runtime pod ready). */
    public static final String READY = "Ready";
    /** Condition type: the pool is moving towards its spec (rolling out, scaling, creating topics). */
    public static final String PROGRESSING = "Progressing";
    /** Condition type: the pool serves, but below its spec (fewer ready pods, Kafka unreachable...). */
    public static final String DEGRADED = "Degraded";

    @JsonPropertyDescription("The metadata.generation this status describes.")
    private Long observedGeneration;

    @StatusReplicas
    @JsonPropertyDescription("Runtime pods that exist.")
    private Integer replicas;

    @JsonPropertyDescription("Runtime pods that are ready.")
    private Integer readyReplicas;

    @JsonPropertyDescription("readyReplicas/spec.replicas as kubectl shows it, for example 2/3.")
    private String podsReady;

    @LabelSelector
    @JsonPropertyDescription("Label selector of the runtime pods in string form, for the scale subresource "
            + "(kubectl scale, HorizontalPodAutoscaler).")
    private String selector;

    @JsonPropertyDescription("URL of the pool's OpenAI-compatible endpoint (its routers' Service).")
    private String endpoint;

    @JsonPropertyDescription("Ready, Progressing and Degraded, each with a reason.")
    private List<Condition> conditions = new ArrayList<>();

    @JsonPropertyDescription("A summary of the runtime pods' latest pod-status heartbeats.")
    private PoolMetrics metrics;

    public Long getObservedGeneration() {
        return observedGeneration;
    }

    public void setObservedGeneration(Long observedGeneration) {
        this.observedGeneration = observedGeneration;
    }

    public Integer getReplicas() {
        return replicas;
    }

    public void setReplicas(Integer replicas) {
        this.replicas = replicas;
    }

    public Integer getReadyReplicas() {
        return readyReplicas;
    }

    public void setReadyReplicas(Integer readyReplicas) {
        this.readyReplicas = readyReplicas;
    }

    public String getPodsReady() {
        return podsReady;
    }

    public void setPodsReady(String podsReady) {
        this.podsReady = podsReady;
    }

    public String getSelector() {
        return selector;
    }

    public void setSelector(String selector) {
        this.selector = selector;
    }

    public String getEndpoint() {
        return endpoint;
    }

    public void setEndpoint(String endpoint) {
        this.endpoint = endpoint;
    }

    public List<Condition> getConditions() {
        return conditions;
    }

    public void setConditions(List<Condition> conditions) {
        this.conditions = conditions;
    }

    public PoolMetrics getMetrics() {
        return metrics;
    }

    public void setMetrics(PoolMetrics metrics) {
        this.metrics = metrics;
    }
}
