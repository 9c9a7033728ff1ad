package io.kvmesh.router.tenancy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * API keys → tenants. Each tenant's cache salt enters the root of every block hash (ARCHITECTURE.md "Block identity"),
 * so tenants never share a cached block. With no tenants configured the pool is open: no key is needed, and a
 * client's own {@code cache_salt} is honoured as vLLM does. Keys are kept only as SHA-256 digests, so a heap dump or a
 * log of this object shows no key.
 */
public final class TenantDirectory {

    /** A tenant and the salt of its blocks. */
    public record Tenant(String name, String cacheSalt) {
    }

    /** One tenant's configuration: its API keys and its salt (its name when none is given). */
    public record Entry(List<String> apiKeys, Optional<String> cacheSalt) {
    }

    public static final TenantDirectory OPEN = new TenantDirectory(Map.of());

    private final Map<String, Tenant> byKeyDigest = new HashMap<>();

    public TenantDirectory(Map<String, Entry> tenants) {
        Map<String, String> owners = new HashMap<>();
        tenants.forEach((name, entry) -> {
            String salt = entry.cacheSalt().filter(s -> !s.isBlank()).orElse(name);
            if (salt.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("tenant " + name + ": the cache salt must not contain NUL");
            }
            if (entry.apiKeys().isEmpty()) {
                throw new IllegalArgumentException("tenant " + name + " has no API keys");
            }
            for (String key : entry.apiKeys()) {
                if (key.isBlank()) {
                    throw new IllegalArgumentException("tenant " + name + " has an empty API key");
                }
                String previous = owners.put(digest(key), name);
                if (previous != null && !previous.equals(name)) {
                    throw new IllegalArgumentException("tenants " + previous + " and " + name + " share an API key");
                }
                byKeyDigest.put(digest(key), new Tenant(name, salt));
            }
        });
    }

    /** Whether API keys are required (some tenant is configured). */
    public boolean enabled() {
        return !byKeyDigest.isEmpty();
    }

    public int size() {
        return (int) byKeyDigest.values().stream().map(Tenant::name).distinct().count();
    }

    /** The tenant of an {@code Authorization: Bearer KEY} header; empty when the header is missing, malformed or unknown. */
    public Optional<Tenant> authenticate(String authorizationHeader) {
        if (authorizationHeader == null) {
            return Optional.empty();
        }
        String value = authorizationHeader.strip();
        if (value.length() < 7 || !value.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return Optional.empty();
        }
        return Optional.ofNullable(byKeyDigest.get(digest(value.substring(7).strip())));
    }

    private static String digest(String key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    @Override
    public String toString() {
        return enabled() ? size() + " tenants" : "open (no tenants)";
    }
}
