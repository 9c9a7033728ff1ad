package io.kvmesh.operator.crd.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/** A pool-wide summary of the runtime pods' pod-status heartbeats, refreshed by the operator. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"prefixHitRate", "kvCacheUsage", "requestsPerSecond", "tokensPerSecond", "updatedAt"})
public class PoolMetrics {

    @JsonPropertyDescription("Prompt blocks found in a pod's prefix cache over blocks looked up, 0..1.")
    private Double prefixHitRate;

    @JsonPropertyDescription("Device KV cache blocks in use over blocks in total, 0..1.")
    private Double kvCacheUsage;

    @JsonPropertyDescription("Requests per second the pool's pods completed.")
    private Double requestsPerSecond;

    @JsonPropertyDescription("Tokens per second the pool's pods computed (prompt and generated).")
    private Double tokensPerSecond;

    @JsonPropertyDescription("When these figures were computed (RFC 3339).")
    private String updatedAt;

    public Double getPrefixHitRate() {
        return prefixHitRate;
    }

    public void setPrefixHitRate(Double prefixHitRate) {
        this.prefixHitRate = prefixHitRate;
    }

    public Double getKvCacheUsage() {
        return kvCacheUsage;
    }

    public void setKvCacheUsage(Double kvCacheUsage) {
        this.kvCacheUsage = kvCacheUsage;
    }

    public Double getRequestsPerSecond() {
        return requestsPerSecond;
    }

    public void setRequestsPerSecond(Double requestsPerSecond) {
        this.requestsPerSecond = requestsPerSecond;
    }

    public Double getTokensPerSecond() {
        return tokensPerSecond;
    }

    public void setTokensPerSecond(Double tokensPerSecond) {
        this.tokensPerSecond = tokensPerSecond;
    }

    public String getUpdatedAt() {
        return updatedAt;
    }

    public void setUpdatedAt(String updatedAt) {
        this.updatedAt = updatedAt;
    }
}
