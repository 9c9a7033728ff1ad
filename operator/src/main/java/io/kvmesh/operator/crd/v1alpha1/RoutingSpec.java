package io.kvmesh.operator.crd.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;

/** The pool's routers (router-service); each field names the router key it sets. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"policy", "routerReplicas", "weights", "hotSpotGuard", "prefixGroups", "speculativeTtl",
        "approximateBlocksPerPod", "maxTries"})
public class RoutingSpec {

    @Default("prefix-aware")
    @JsonPropertyDescription("Routing policy (kvmesh.policy).")
    private RoutingPolicy policy = RoutingPolicy.PREFIX_AWARE;

    @Min(1)
    @Default("1")
    @JsonPropertyDescription("Router pods; each holds the whole block index, fed from Kafka.")
    private int routerReplicas = 1;

    @Default("{}")
    @JsonPropertyDescription("Weights of the prefix-aware score (kvmesh.weights.*).")
    private RoutingWeights weights = new RoutingWeights();

    @Default("{}")
    @JsonPropertyDescription("When load wins over prefix match, for prefix-aware and approximate-prefix "
            + "(kvmesh.guard.*).")
    private HotSpotGuard hotSpotGuard = new HotSpotGuard();

    @Default("{}")
    @JsonPropertyDescription("Requests that arrive together and share a prefix go to one pod, leader first "
            + "(kvmesh.groups.*).")
    private PrefixGroups prefixGroups = new PrefixGroups();

    @Pattern(SchemaPatterns.DURATION)
    @Default("2s")
    @JsonPropertyDescription("How long a routing decision counts as the pod holding the routed prefix before its KV "
            + "events confirm it (kvmesh.speculative.ttl); 0s turns speculation off.")
    private String speculativeTtl = "2s";

    @Min(1)
    @Default("4096")
    @JsonPropertyDescription("Block hashes the approximate-prefix policy remembers per pod "
            + "(kvmesh.approximate.blocks-per-pod).")
    private int approximateBlocksPerPod = 4096;

    @Min(1)
    @Default("3")
    @JsonPropertyDescription("Pods tried for one request at most, the next after a failure before it answers "
            + "(kvmesh.max-tries).")
    private int maxTries = 3;

    public RoutingPolicy getPolicy() {
        return policy;
    }

    public void setPolicy(RoutingPolicy policy) {
        this.policy = policy;
    }

    public int getRouterReplicas() {
        return routerReplicas;
    }

    public void setRouterReplicas(int routerReplicas) {
        this.routerReplicas = routerReplicas;
    }

    public RoutingWeights getWeights() {
        return weights;
    }

    public void setWeights(RoutingWeights weights) {
        this.weights = weights;
    }

    public HotSpotGuard getHotSpotGuard() {
        return hotSpotGuard;
    }

    public void setHotSpotGuard(HotSpotGuard hotSpotGuard) {
        this.hotSpotGuard = hotSpotGuard;
    }

    public PrefixGroups getPrefixGroups() {
        return prefixGroups;
    }

    public void setPrefixGroups(PrefixGroups prefixGroups) {
        this.prefixGroups = prefixGroups;
    }

    public String getSpeculativeTtl() {
        return speculativeTtl;
    }

    public void setSpeculativeTtl(String speculativeTtl) {
        this.speculativeTtl = speculativeTtl;
    }

    public int getApproximateBlocksPerPod() {
        return approximateBlocksPerPod;
    }

    public void setApproximateBlocksPerPod(int approximateBlocksPerPod) {
        this.approximateBlocksPerPod = approximateBlocksPerPod;
    }

    public int getMaxTries() {
        return maxTries;
    }

    public void setMaxTries(int maxTries) {
        this.maxTries = maxTries;
    }
}
