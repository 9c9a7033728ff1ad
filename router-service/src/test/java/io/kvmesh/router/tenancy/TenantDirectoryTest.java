package io.kvmesh.router.tenancy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

class TenantDirectoryTest {

    private final TenantDirectory directory = new TenantDirectory(Map.of(
            "acme", new TenantDirectory.Entry(List.of("key-acme-1", "key-acme-2"), Optional.empty()),
            "globex", new TenantDirectory.Entry(List.of("key-globex"), Optional.of("g-salt"))));

    @Test
    void bearerKeysMapToTheirTenantAndSalt() {
        assertThat(directory.enabled()).isTrue();
        assertThat(directory.authenticate("Bearer key-acme-2")).contains(new TenantDirectory.Tenant("acme", "acme"));
        assertThat(directory.authenticate("bearer  key-globex ")).contains(new TenantDirectory.Tenant("globex", "g-salt"));
        assertThat(directory.toString()).isEqualTo("2 tenants").doesNotContain("key");
    }

    @Test
    void missingMalformedOrUnknownKeysAreRefused() {
        assertThat(directory.authenticate(null)).isEmpty();
        assertThat(directory.authenticate("key-acme-1")).isEmpty();
        assertThat(directory.authenticate("Basic a2V5")).isEmpty();
        assertThat(directory.authenticate("Bearer key-acme-3")).isEmpty();
        assertThat(directory.authenticate("Bearer ")).isEmpty();
    }

    @Test
    void anOpenPoolNeedsNoKeyAndBadConfigurationIsRefused() {
        assertThat(TenantDirectory.OPEN.enabled()).isFalse();
        assertThatThrownBy(() -> new TenantDirectory(Map.of(
                "a", new TenantDirectory.Entry(List.of("same"), Optional.empty()),
                "b", new TenantDirectory.Entry(List.of("same"), Optional.empty()))))
                .hasMessageContaining("share an API key");
        assertThatThrownBy(() -> new TenantDirectory(Map.of("a", new TenantDirectory.Entry(List.of(), Optional.empty()))))
                .hasMessageContaining("no API keys");
    }
}
