package io.kvmesh.operator.crd.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;

/** A network port, shaped as the Gateway API Inference Extension's (v1) {@code Port}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class Port {

    @Required
    @Min(1)
    @Max(65535)
    @JsonPropertyDescription("Port number, 1 to 65535.")
    private Integer number;

    public Port() {
    }

    public Port(int number) {
        this.number = number;
    }

    public Integer getNumber() {
        return number;
    }

    public void setNumber(Integer number) {
        this.number = number;
    }
}
