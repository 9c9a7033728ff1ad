package io.kvmesh.operator.crd.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;

/** The model a pool serves. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"id", "source", "format"})
public class ModelSpec {

    @Required
    @Size(min = 1, max = 253)
    @JsonPropertyDescription("Model id clients ask for and the root of every block hash (kvmesh.model-id); a LoRA "
            + "adapter or other variant of a model is a different id.")
    private String id;

    @Size(min = 1)
    @JsonPropertyDescription("Where the runtime reads the model file (kvmesh.model-path): a path inside the runtime "
            + "pod or an http(s) URL. Needed by the cpu and cuda backends; the sim backend ignores it.")
    private String source;

    @Default("gguf")
    @JsonPropertyDescription("Format of the model file.")
    private ModelFormat format = ModelFormat.GGUF;

    public ModelSpec() {
    }

    public ModelSpec(String id, String source) {
        this.id = id;
        this.source = source;
    }

    public String getId() {
        return id;
    }

    public void setId(String id) {
        this.id = id;
    }

    public String getSource() {
        return source;
    }

    public void setSource(String source) {
        this.source = source;
    }

    public ModelFormat getFormat() {
        return format;
    }

    public void setFormat(ModelFormat format) {
        this.format = format;
    }
}
