package io.kvmesh.operator.crd.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn.Type;
import io.fabric8.generator.annotation.Required;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Categories;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * One inference pool: a model served by {@code spec.replicas} runtime pods behind KV-cache-aware routers, with its Kafka
 * topics and tenants. The operator turns it into Deployments, Services, config and topics and reports in its status.
 */
@Group(InferencePool.GROUP)
@Version(InferencePool.VERSION)
@Kind(InferencePool.KIND)
@Plural(InferencePool.PLURAL)
@Singular("inferencepool")
@ShortNames(InferencePool.SHORT_NAME)
@Categories("kvmesh")
@AdditionalPrinterColumn(name = "Pods", jsonPath = ".status.podsReady", type = Type.STRING,
        getDescription = "Ready runtime pods over desired")
@AdditionalPrinterColumn(name = "Ready", jsonPath = ".status.conditions[?(@.type==\"Ready\")].status",
        type = Type.STRING, getDescription = "Status of the Ready condition")
@AdditionalPrinterColumn(name = "Policy", jsonPath = ".spec.routing.policy", type = Type.STRING,
        getDescription = "Routing policy")
@AdditionalPrinterColumn(name = "Hit Rate", jsonPath = ".status.metrics.prefixHitRate", type = Type.NUMBER,
        getDescription = "Prefix cache hit rate over the pool's pods (0..1)")
@AdditionalPrinterColumn(name = "KV Usage", jsonPath = ".status.metrics.kvCacheUsage", type = Type.NUMBER,
        getDescription = "Device KV cache blocks in use over the pool's pods (0..1)")
@AdditionalPrinterColumn(name = "Endpoint", jsonPath = ".status.endpoint", type = Type.STRING, priority = 1,
        getDescription = "OpenAI-compatible endpoint of the pool's routers")
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = Type.DATE)
public class InferencePool extends CustomResource<InferencePoolSpec, InferencePoolStatus> implements Namespaced {

    public static final String GROUP = "kvmesh.io";
    public static final String VERSION = "v1alpha1";
    public static final String KIND = "InferencePool";
    public static final String PLURAL = "inferencepools";
    public static final String SHORT_NAME = "kvpool";
    /** The CustomResourceDefinition's name, {@code inferencepools.kvmesh.io}. */
    public static final String CRD_NAME = PLURAL + "." + GROUP;

    /** Overridden only to make {@code spec} required in the schema: a pool without one is rejected. */
    @Override
    @Required
    public InferencePoolSpec getSpec() {
        return super.getSpec();
    }
}
