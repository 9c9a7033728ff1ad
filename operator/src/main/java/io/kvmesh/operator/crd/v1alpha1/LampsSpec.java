package io.kvmesh.operator.crd.v1alpha1;

import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;

/**
 * KV handling for requests that pause on a tool or API call (InferCept, LAMPS). A fixed policy ({@code keep},
 * {@code discard}, {@code swap}) is LAMPS off; {@code infercept} and {@code lamps} predict each call's duration.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"policy", "defaultApiDuration", "toolApiDurations"})
public class LampsSpec {

    @Default("lamps")
    @JsonPropertyDescription("keep, discard and swap do the same at every pause (discard is what vLLM does); "
            + "infercept picks per pause the option with the least predicted memory waste; lamps adds a waiting queue "
            + "ordered by predicted memory × time.")
    private PausePolicy policy = PausePolicy.LAMPS;

    @Pattern(SchemaPatterns.DURATION)
    @Default("1s")
    @JsonPropertyDescription("Predicted duration of a call to a tool with no history and no entry in toolApiDurations.")
    private String defaultApiDuration = "1s";

    @JsonPropertyDescription("Predicted duration per tool name (durations such as 300ms or 20s) until the tool's own "
            + "observed calls take over.")
    private Map<String, String> toolApiDurations = new LinkedHashMap<>();

    public PausePolicy getPolicy() {
        return policy;
    }

    public void setPolicy(PausePolicy policy) {
        this.policy = policy;
    }

    public String getDefaultApiDuration() {
        return defaultApiDuration;
    }

    public void setDefaultApiDuration(String defaultApiDuration) {
        this.defaultApiDuration = defaultApiDuration;
    }

    public Map<String, String> getToolApiDurations() {
        return toolApiDurations;
    }

    public void setToolApiDurations(Map<String, String> toolApiDurations) {
        this.toolApiDurations = toolApiDurations;
    }
}
