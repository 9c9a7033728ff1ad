package io.kvmesh.operator.crd.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;

/** When load wins over the cache (router-service {@code HotSpotGuard}, keys {@code kvmesh.guard.*}). */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"enabled", "balanceAbsThreshold", "balanceRelThreshold", "cacheThreshold"})
public class HotSpotGuard {

    @Default("true")
    @JsonPropertyDescription("Whether the guard runs at all.")
    private boolean enabled = true;

    @Min(0)
    @Default("24")
    @JsonPropertyDescription("Load wins when the most and least loaded pods' queues differ by more than this...")
    private int balanceAbsThreshold = 24;

    @Min(1)
    @Default("1.5")
    @JsonPropertyDescription("...and the most loaded pod's queue is more than this times the least loaded's.")
    private double balanceRelThreshold = 1.5;

    @Min(0)
    @Max(1)
    @Default("0.3")
    @JsonPropertyDescription("Load wins when the best match covers less than this fraction of the prompt's blocks.")
    private double cacheThreshold = 0.3;

    public boolean isEnabled() {
        return enabled;
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public int getBalanceAbsThreshold() {
        return balanceAbsThreshold;
    }

    public void setBalanceAbsThreshold(int balanceAbsThreshold) {
        this.balanceAbsThreshold = balanceAbsThreshold;
    }

    public double getBalanceRelThreshold() {
        return balanceRelThreshold;
    }

    public void setBalanceRelThreshold(double balanceRelThreshold) {
        this.balanceRelThreshold = balanceRelThreshold;
    }

    public double getCacheThreshold() {
        return cacheThreshold;
    }

    public void setCacheThreshold(double cacheThreshold) {
        this.cacheThreshold = cacheThreshold;
    }
}
