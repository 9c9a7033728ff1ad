package io.kvmesh.prefix.events;

import java.util.Objects;
import java.util.regex.Pattern;

/** The Kafka topics of one pool: {@code kvmesh.<namespace>.<pool>.kv-events}, {@code .pod-status}, {@code .kv-index}. */
public record PoolTopics(String prefix) {

    // Kafka topic names allow [a-zA-Z0-9._-], at most 249 characters.
    private static final Pattern LEGAL = Pattern.compile("[a-zA-Z0-9._-]+");
    private static final int LONGEST_SUFFIX = ".pod-status".length();

    public PoolTopics {
        Objects.requireNonNull(prefix, "prefix");
        if (!LEGAL.matcher(prefix).matches() || prefix.length() + LONGEST_SUFFIX > 249) {
            throw new IllegalArgumentException("topic prefix \"" + prefix
                    + "\" must be 1 to " + (249 - LONGEST_SUFFIX) + " characters of [a-zA-Z0-9._-]");
        }
    }

    public static PoolTopics forPool(String namespace, String pool) {
        return new PoolTopics("kvmesh." + namespace + "." + pool);
    }

    public String kvEvents() {
        return prefix + ".kv-events";
    }

    public String podStatus() {
        return prefix + ".pod-status";
    }

    public String kvIndex() {
        return prefix + ".kv-index";
    }
}
