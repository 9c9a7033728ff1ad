package io.kvmesh.operator.crd.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;

/** The Secret key that holds a pool's tenants. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"name", "key"})
public class TenantsSecretRef {

    /** The key read unless the pool names another. */
    public static final String DEFAULT_TENANTS_KEY = "tenants.properties";

    @Required
    @Size(min = 1, max = 253)
    @Pattern(SchemaPatterns.OBJECT_NAME)
    @JsonPropertyDescription("Name of the Secret.")
    private String name;

    @Size(min = 1, max = 253)
    @Pattern("^[-._a-zA-Z0-9]+$")
    @Default(DEFAULT_TENANTS_KEY)
    @JsonPropertyDescription("Key in the Secret's data.")
    private String key = DEFAULT_TENANTS_KEY;

    public TenantsSecretRef() {
    }

    public TenantsSecretRef(String name, String key) {
        this.name = name;
        this.key = key;
    }

    public String getName() {
        return name;
    }

    public void setName(String name) {
        this.name = name;
    }

    public String getKey() {
        return key;
    }

    public void setKey(String key) {
        this.key = key;
    }
}
