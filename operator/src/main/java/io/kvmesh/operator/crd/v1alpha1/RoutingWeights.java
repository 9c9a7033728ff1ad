package io.kvmesh.operator.crd.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Min;

/** Weights of the prefix-aware score (router-service {@code PrefixAwarePolicy}, keys {@code kvmesh.weights.*}). */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"prefix", "hostBlock", "queue", "kvUsage"})
public class RoutingWeights {

    @Min(0)
    @Default("1.0")
    @JsonPropertyDescription("Weight of the matched prefix: (device blocks + hostBlock × host blocks) over the "
            + "prompt's blocks.")
    private double prefix = 1.0;

    @Min(0)
    @Default("0.5")
    @JsonPropertyDescription("Worth of a matched block in host memory relative to one on the device.")
    private double hostBlock = 0.5;

    @Min(0)
    @Default("0.3")
    @JsonPropertyDescription("Weight of the pod's queue over the longest queue among the candidates (subtracted).")
    private double queue = 0.3;

    @Min(0)
    @Default("0.1")
    @JsonPropertyDescription("Weight of the pod's device KV cache usage, 0..1 (subtracted).")
    private double kvUsage = 0.1;

    public double getPrefix() {
        return prefix;
    }

    public void setPrefix(double prefix) {
        this.prefix = prefix;
    }

    public double getHostBlock() {
        return hostBlock;
    }

    public void setHostBlock(double hostBlock) {
        this.hostBlock = hostBlock;
    }

    public double getQueue() {
        return queue;
    }

    public void setQueue(double queue) {
        this.queue = queue;
    }

    public double getKvUsage() {
        return kvUsage;
    }

    public void setKvUsage(double kvUsage) {
        this.kvUsage = kvUsage;
    }
}
