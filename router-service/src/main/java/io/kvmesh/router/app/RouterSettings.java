package io.kvmesh.router.app;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.kvmesh.streams.KafkaConfig;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

/** Every configuration key of the router (prefix {@code kvmesh}). */
@ConfigMapping(prefix = "kvmesh")
public interface RouterSettings {

    /** {@code prefix-aware} (default), {@code approximate-prefix}, {@code least-load}, {@code round-robin} or {@code random}. */
    @WithDefault("prefix-aware")
    String policy();

    /** A GGUF file whose tokenizer the pods use (cpu backend); unset: the sim backend's byte tokenizer. */
    Optional<String> modelPath();

    /** The pool's block size: the router hashes prompts exactly as the pods do. */
    @WithDefault("16")
    int blockSize();

    /** The pool's cache salt (combined with each tenant's, see {@code BlockHasher.combinedSalt}). */
    Optional<String> cacheSalt();

    /**
     * Tenants by name ({@code kvmesh.tenants.NAME.api-keys=k1,k2}, {@code kvmesh.tenants.NAME.cache-salt}, default the
     * name). Empty: the pool is open. From a Kubernetes Secret: environment variables ({@code secretKeyRef}) or a
     * mounted properties file named by {@code QUARKUS_CONFIG_LOCATIONS}.
     */
    Map<String, Tenant> tenants();

    interface Tenant {
        List<String> apiKeys();

        Optional<String> cacheSalt();
    }

    /** A pod with no heartbeat for this long is dropped with all its blocks. */
    @WithDefault("3s")
    Duration heartbeatTimeout();

    /** A pod that failed before answering is tried last for this long. */
    @WithDefault("5s")
    Duration suspectFor();

    /** Largest request body accepted, in bytes. */
    @WithDefault("8388608")
    long maxBodyBytes();

    /** (pod, block) entries the index replica holds at most (~80 B each); beyond it the largest pod's oldest go. */
    @WithName("index.max-entries")
    @WithDefault("10000000")
    long indexMaxEntries();

    /** BatchLLM prefix groups (see {@code PrefixGroups}). */
    Groups groups();

    interface Groups {
        /** How long after a leader others sharing its prefix may join it; 0s turns grouping off. */
        @WithDefault("10ms")
        Duration window();

        /** Leading blocks a request must share with the leader to join (16 × 16 = 256 tokens by default). */
        @WithDefault("16")
        int minSharedBlocks();

        /** A follower waits at most this long for the leader's pod to hold the prefix. */
        @WithDefault("2s")
        Duration maxWait();
    }

    /**
     * prefix-aware: a pod's queue is its heartbeat's plus the requests it announced since (whichever replica sent them)
     * less those it likely finished meanwhile, not the heartbeat's alone (see PodArrivals).
     */
    @WithDefault("true")
    boolean announcedArrivals();

    /** Pods tried for one request at most (the best first, the next on a failure before it answers). */
    @WithDefault("3")
    int maxTries();

    /** Time to connect to a pod before trying the next one. */
    @WithDefault("2s")
    Duration connectTimeout();

    Weights weights();

    Guard guard();

    Speculative speculative();

    Approximate approximate();

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

    /** The hot-spot guard of prefix-aware and approximate-prefix (see HotSpotGuard and the README for the defaults). */
    interface Guard {
        @WithDefault("true")
        boolean enabled();

        /** Load wins when the most and least loaded pods' queues differ by more than this... */
        @WithDefault("24")
        int balanceAbsThreshold();

        /** ...and the most loaded pod's queue is more than this times the least loaded's. */
        @WithDefault("1.5")
        double balanceRelThreshold();

        /** Load wins when the best match covers less than this fraction of the prompt's blocks. */
        @WithDefault("0.3")
        double cacheThreshold();
    }

    /** Speculative index entries for decisions whose KV events have not arrived yet. */
    interface Speculative {
        /** How long an unconfirmed entry counts; 0 turns speculation off. */
        @WithDefault("2s")
        Duration ttl();
    }

    /** The approximate-prefix policy's table. */
    interface Approximate {
        /** Block hashes remembered per pod, least recently routed dropped first (a sim pod holds 4096 blocks). */
        @WithDefault("4096")
        int blocksPerPod();
    }

    interface Kafka extends KafkaConfig {
    }
}
