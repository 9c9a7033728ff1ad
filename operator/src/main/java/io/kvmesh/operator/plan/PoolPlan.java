package io.kvmesh.operator.plan;

import java.util.List;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.Deployment;

/**
 * Everything a pool should have: the objects to apply (ConfigMap, Deployments, Services), its topics, the endpoint
 * and runtime selector to report, the tenants Secret it needs (or null), and problems the schema cannot catch (each
 * names its field; a pool with problems is reported Degraded/InvalidSpec and nothing is applied).
 */
public record PoolPlan(List<HasMetadata> objects, TopicsPlan topics, String endpoint, String runtimeSelector,
                       String tenantsSecret, List<String> problems) {

    public List<Deployment> deployments() {
        return objects.stream().filter(Deployment.class::isInstance).map(Deployment.class::cast).toList();
    }

    public Deployment deployment(Component component) {
        return deployments().stream()
                .filter(d -> component.label().equals(d.getMetadata().getLabels().get(PoolLabels.COMPONENT)))
                .findFirst().orElseThrow();
    }
}
