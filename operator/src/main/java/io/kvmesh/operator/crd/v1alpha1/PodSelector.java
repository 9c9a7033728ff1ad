package io.kvmesh.operator.crd.v1alpha1;

import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;

/** Labels that select pods, shaped as the Gateway API Inference Extension's (v1) {@code LabelSelector}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class PodSelector {

    @Required
    @Size(min = 1, max = 64)
    @JsonPropertyDescription("Labels a pod must carry, all of them, to be selected.")
    private Map<String, String> matchLabels = new LinkedHashMap<>();

    public PodSelector() {
    }

    public PodSelector(Map<String, String> matchLabels) {
        this.matchLabels = new LinkedHashMap<>(matchLabels);
    }

    public Map<String, String> getMatchLabels() {
        return matchLabels;
    }

    public void setMatchLabels(Map<String, String> matchLabels) {
        this.matchLabels = matchLabels;
    }
}
