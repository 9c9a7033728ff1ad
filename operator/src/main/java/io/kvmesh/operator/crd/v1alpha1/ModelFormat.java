package io.kvmesh.operator.crd.v1alpha1;

import com.fasterxml.jackson.annotation.JsonValue;

/** Model file formats the runtime reads. */
public enum ModelFormat {
    GGUF("gguf");

    private final String value;

    ModelFormat(String value) {
        this.value = value;
    }

    /** The name in YAML. */
    @JsonValue
    public String value() {
        return value;
    }
}
