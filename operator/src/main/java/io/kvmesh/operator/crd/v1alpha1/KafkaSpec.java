package io.kvmesh.operator.crd.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;

/** The pool's Kafka topics ({@code kvmesh.kafka.*} of every service). */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"bootstrapServers", "topicPrefix", "partitions", "replicationFactor", "eventRetention"})
public class KafkaSpec {

    @Required
    @Pattern("^[^\\s,]+:[0-9]{1,5}(,[^\\s,]+:[0-9]{1,5})*$")
    @JsonPropertyDescription("Kafka bootstrap servers, host:port[,host:port...] (kvmesh.kafka.bootstrap-servers); for "
            + "Strimzi, CLUSTER-kafka-bootstrap.NAMESPACE:9092.")
    private String bootstrapServers;

    @Size(min = 1, max = 238)
    @Pattern("^[a-zA-Z0-9._-]+$")
    @JsonPropertyDescription("Topics are PREFIX.kv-events, PREFIX.pod-status and PREFIX.kv-index "
            + "(kvmesh.kafka.topic-prefix); unset, kvmesh.NAMESPACE.POOL.")
    private String topicPrefix;

    @Min(1)
    @Default("4")
    @JsonPropertyDescription("Partitions of each topic the operator creates (kvmesh.kafka.partitions).")
    private int partitions = 4;

    @Min(1)
    @JsonPropertyDescription("Replicas of each topic the operator creates; unset, the brokers' "
            + "default.replication.factor.")
    private Integer replicationFactor;

    @Pattern(SchemaPatterns.DURATION)
    @Default("1h")
    @JsonPropertyDescription("How long kv-events keeps records (kvmesh.kafka.event-retention); the kv-index snapshots "
            + "hold the state, so this only has to cover a consumer's restart.")
    private String eventRetention = "1h";

    public KafkaSpec() {
    }

    public KafkaSpec(String bootstrapServers) {
        this.bootstrapServers = bootstrapServers;
    }

    public String getBootstrapServers() {
        return bootstrapServers;
    }

    public void setBootstrapServers(String bootstrapServers) {
        this.bootstrapServers = bootstrapServers;
    }

    public String getTopicPrefix() {
        return topicPrefix;
    }

    public void setTopicPrefix(String topicPrefix) {
        this.topicPrefix = topicPrefix;
    }

    public int getPartitions() {
        return partitions;
    }

    public void setPartitions(int partitions) {
        this.partitions = partitions;
    }

    public Integer getReplicationFactor() {
        return replicationFactor;
    }

    public void setReplicationFactor(Integer replicationFactor) {
        this.replicationFactor = replicationFactor;
    }

    public String getEventRetention() {
        return eventRetention;
    }

    public void setEventRetention(String eventRetention) {
        this.eventRetention = eventRetention;
    }
}
