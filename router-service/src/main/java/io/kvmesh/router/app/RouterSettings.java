package io.kvmesh.router.app;

import java.time.Duration;
import java.util.Optional;

import io.kvmesh.streams.KafkaConfig;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Every configuration key of the router (prefix {@code kvmesh}). */
@ConfigMapping(prefix = "kvmesh")
public interface RouterSettings {

    /** {@code prefix-aware} (default), {@code least-load}, {@code round-robin} or {@code random}. */
    @WithDefault("prefix-aware")
    String policy();

    /** A GGUF file whose tokenizer the pods use (cpu backend); unset: the sim backend's byte tokenizer. */
    Optional<String> modelPath();

    /** The pool's block size: the router hashes prompts exactly as the pods do. */
    @WithDefault("16")
    int blockSize();

    /** The pool's cache salt (unset: no tenants). */
    Optional<String> cacheSalt();

    /** A pod with no heartbeat for this long is dropped with all its blocks. */
    @WithDefault("3s")
    Duration heartbeatTimeout();

    /** A pod that failed before answering is tried last for this long. */
    @WithDefault("5s")
    Duration suspectFor();

    /** Largest request body accepted, in bytes. */
    @WithDefault("8388608")
    long maxBodyBytes();

    /** Time to connect to a pod before trying the next one. */
    @WithDefault("2s")
    Duration connectTimeout();

    Weights weights();

    Kafka kafka();

    /** Weights of the prefix-aware score (see PrefixAwarePolicy). */
    interface Weights {
        @WithDefault("1.0")
        double prefix();

        @WithDefault("0.5")
        double hostBlock();

        @WithDefault("0.3")
        double queue();

        @WithDefault("0.1")
        double kvUsage();
    }

    interface Kafka extends KafkaConfig {
    }
}
