package io.kvmesh.operator.dashboard;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.kvmesh.operator.crd.v1alpha1.ComputeBackend;
import io.kvmesh.operator.crd.v1alpha1.InferencePool;
import io.kvmesh.operator.crd.v1alpha1.InferencePoolSpec;
import io.kvmesh.operator.crd.v1alpha1.KafkaSpec;
import io.kvmesh.operator.crd.v1alpha1.ModelSpec;
import io.kvmesh.operator.crd.v1alpha1.RoutingPolicy;

/** The pools the dashboard tests create: a model served by the sim backend, on the given Kafka. */
final class TestPools {

    private TestPools() {
    }

    static InferencePool pool(String namespace, String name, int replicas, String bootstrapServers, String topicPrefix) {
        InferencePoolSpec spec = new InferencePoolSpec();
        spec.setModel(new ModelSpec("llama-3.2-1b-instruct", null));
        spec.setReplicas(replicas);
        spec.getRuntime().setBackend(ComputeBackend.SIM);
        spec.getRouting().setPolicy(RoutingPolicy.PREFIX_AWARE);
        KafkaSpec kafka = new KafkaSpec();
        kafka.setBootstrapServers(bootstrapServers);
        kafka.setTopicPrefix(topicPrefix);
        spec.setKafka(kafka);
        InferencePool pool = new InferencePool();
        pool.setMetadata(new ObjectMetaBuilder().withNamespace(namespace).withName(name).build());
        pool.setSpec(spec);
        return pool;
    }
}
