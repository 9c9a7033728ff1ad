package io.kvmesh.operator.plan;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The labels the operator puts on everything it creates for a pool: the Kubernetes recommended ones plus
 * {@code kvmesh.io/pool}. The ServiceMonitor and Grafana dashboard in {@code k8s/monitoring} select by them.
 */
public final class PoolLabels {

    public static final String POOL = "kvmesh.io/pool";
    public static final String COMPONENT = "app.kubernetes.io/component";
    public static final String PART_OF = "app.kubernetes.io/part-of";
    public static final String MANAGED_BY = "app.kubernetes.io/managed-by";
    public static final String NAME = "app.kubernetes.io/name";
    public static final String INSTANCE = "app.kubernetes.io/instance";
    /** Pod template annotation: a digest of the component's configuration, so a config change rolls the pods. */
    public static final String CONFIG_DIGEST = "kvmesh.io/config-digest";
    public static final String MANAGER = "kvmesh-operator";

    private PoolLabels() {
    }

    /** The component's pods: the Deployment selector (immutable, so nothing a user can change is in it). */
    public static Map<String, String> selector(String pool, Component component) {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put(POOL, pool);
        labels.put(COMPONENT, component.label());
        return labels;
    }

    /** Every label of a component's objects. */
    public static Map<String, String> of(String pool, Component component) {
        Map<String, String> labels = selector(pool, component);
        labels.put(NAME, component.image());
        labels.put(INSTANCE, pool);
        labels.put(PART_OF, "kvmesh");
        labels.put(MANAGED_BY, MANAGER);
        return labels;
    }

    /** The runtime pods' selector as a string, for the scale subresource ({@code status.selector}). */
    public static String runtimeSelector(String pool) {
        return POOL + "=" + pool + "," + COMPONENT + "=" + Component.RUNTIME.label();
    }
}
