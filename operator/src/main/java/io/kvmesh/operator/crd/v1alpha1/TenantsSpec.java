package io.kvmesh.operator.crd.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Required;

/** Where the pool's tenants are defined; the routers read them ({@code kvmesh.tenants.*} of router-service). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class TenantsSpec {

    @Required
    @JsonPropertyDescription("A Secret in the pool's namespace whose key holds the tenants as properties lines: "
            + "kvmesh.tenants.NAME.api-keys=KEY1,KEY2 and, optionally, kvmesh.tenants.NAME.cache-salt=SALT (default: "
            + "the tenant's name). A request's API key names its tenant; tenants never share KV blocks.")
    private TenantsSecretRef secretRef;

    public TenantsSpec() {
    }

    public TenantsSpec(TenantsSecretRef secretRef) {
        this.secretRef = secretRef;
    }

    public TenantsSecretRef getSecretRef() {
        return secretRef;
    }

    public void setSecretRef(TenantsSecretRef secretRef) {
        this.secretRef = secretRef;
    }
}
