package io.kvmesh.operator.crd.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;

/** BatchLLM-style prefix groups (router-service {@code PrefixGroups}, keys {@code kvmesh.groups.*}). */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"window", "minSharedBlocks", "maxWait"})
public class PrefixGroups {

    @Pattern(SchemaPatterns.DURATION)
    @Default("10ms")
    @JsonPropertyDescription("How long after a leader others sharing its prefix may join it; 0s turns grouping off.")
    private String window = "10ms";

    @Min(1)
    @Default("16")
    @JsonPropertyDescription("Leading blocks a request must share with the leader to join its group.")
    private int minSharedBlocks = 16;

    @Pattern(SchemaPatterns.DURATION)
    @Default("2s")
    @JsonPropertyDescription("A follower waits at most this long for the leader's pod to hold the prefix.")
    private String maxWait = "2s";

    public String getWindow() {
        return window;
    }

    public void setWindow(String window) {
        this.window = window;
    }

    public int getMinSharedBlocks() {
        return minSharedBlocks;
    }

    public void setMinSharedBlocks(int minSharedBlocks) {
        this.minSharedBlocks = minSharedBlocks;
    }

    public String getMaxWait() {
        return maxWait;
    }

    public void setMaxWait(String maxWait) {
        this.maxWait = maxWait;
    }
}
