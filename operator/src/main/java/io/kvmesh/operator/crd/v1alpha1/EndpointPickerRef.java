package io.kvmesh.operator.crd.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;

/** An endpoint picker extension, shaped as the Gateway API Inference Extension's (v1) {@code EndpointPickerRef}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"group", "kind", "name", "port", "failureMode"})
public class EndpointPickerRef {

    @Size(max = 253)
    @Pattern("^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    // Unlike the Inference Extension, no default "": the Kubernetes 1.20 apiserver refuses an empty string as a
    // default, and as a value too (it reads it as null).
    @JsonPropertyDescription("API group of the referent; unset, the core group.")
    private String group;

    @Size(min = 1, max = 63)
    @Pattern("^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$")
    @Default("Service")
    @JsonPropertyDescription("Kind of the referent; ExternalName Services are not supported.")
    private String kind = "Service";

    @Required
    @Size(min = 1, max = 253)
    @JsonPropertyDescription("Name of the referent, in the pool's namespace.")
    private String name;

    @JsonPropertyDescription("Port of the endpoint picker; for a Service, the service port (not the target port). "
            + "Required when the referent is a Service.")
    private Port port;

    @Default("FailClose")
    @JsonPropertyDescription("What the gateway does when the endpoint picker does not answer: FailOpen forwards to an "
            + "endpoint of its own choosing, FailClose drops the request.")
    private EndpointPickerFailureMode failureMode = EndpointPickerFailureMode.FailClose;

    public EndpointPickerRef() {
    }

    public EndpointPickerRef(String name, int port) {
        this.name = name;
        this.port = new Port(port);
    }

    public String getGroup() {
        return group;
    }

    public void setGroup(String group) {
        this.group = group;
    }

    public String getKind() {
        return kind;
    }

    public void setKind(String kind) {
        this.kind = kind;
    }

    public String getName() {
        return name;
    }

    public void setName(String name) {
        this.name = name;
    }

    public Port getPort() {
        return port;
    }

    public void setPort(Port port) {
        this.port = port;
    }

    public EndpointPickerFailureMode getFailureMode() {
        return failureMode;
    }

    public void setFailureMode(EndpointPickerFailureMode failureMode) {
        this.failureMode = failureMode;
    }
}
