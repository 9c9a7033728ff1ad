package io.kvmesh.runtime.app;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import io.kvmesh.streams.KafkaConfig;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Every configuration key of the runtime pod (prefix {@code kvmesh}); defaults suit the local mesh. */
@ConfigMapping(prefix = "kvmesh")
public interface RuntimeSettings {

    /** The model id served (and hashed into every block's root); default: kvmesh-sim, or the model file's name. */
    Optional<String> modelId();

    /** The GGUF model file the {@code cpu} backend serves. */
    Optional<String> modelPath();

    /** The pod's id in events and status; default: host name and HTTP port. */
    Optional<String> podId();

    /** host:port the router reaches this pod at; default 127.0.0.1 and the HTTP port. */
    Optional<String> advertisedAddress();

    /**
     * Compute backend: {@code sim} (cost model, no arithmetic), {@code cpu} or {@code cuda} (both need {@code model-path}),
     * or {@code auto}: cuda where a usable GPU is, else cpu with the reason logged ({@link BackendChoice}).
     */
    @WithDefault("sim")
    String backend();

    /** The pool's cache salt (unset: no tenants). */
    Optional<String> cacheSalt();

    /** Tokens per KV block. */
    @WithDefault("16")
    int blockSize();

    /** KV blocks in device memory; default: 4096 on sim, what {@code kv-cache-mib} holds on cpu (at most 4096). */
    Optional<Integer> kvBlocks();

    /** Memory for the KV cache of the cpu backend when {@code kv-blocks} is not set, in MiB. */
    @WithDefault("256")
    int kvCacheMib();

    /**
     * Blocks of the host tier that swapped-out KV of paused sessions goes to; default: what {@code host-swap-mib}
     * holds (sim: 8192). 0 means no host tier (a swap then falls back to discard).
     */
    Optional<Integer> hostBlocks();

    /** Memory of the host tier when {@code host-blocks} is not set, in MiB (the CRD's {@code hostSwapSize}). */
    @WithDefault("256")
    int hostSwapMib();

    /** Longest prompt plus completion accepted, in tokens (also capped by the KV pool). */
    @WithDefault("8192")
    int maxContextTokens();

    /** Largest request body accepted, in bytes. */
    @WithDefault("8388608")
    long maxBodyBytes();

    Scheduling scheduler();

    Lamps lamps();

    Sim sim();

    Kafka kafka();

    interface Scheduling {
        /** Tokens computed per iteration at most (prefill chunks plus decodes). */
        @WithDefault("2048")
        int tokenBudget();

        /** Sequences running at once at most. */
        @WithDefault("64")
        int maxRunning();

        /**
         * A waiting request whose prompt continues into at least this many blocks a running request is still
         * computing waits until they are written and reuses them; 0 turns holding off.
         */
        @WithDefault("2")
        int prefixHoldBlocks();

        /**
         * How many waiting requests the scheduler looks at to admit the one with the longest prefix cached on the
         * device first (SGLang's longest-prefix-match); 0 keeps the waiting queue's own order.
         */
        @WithDefault("64")
        int cachedPrefixScan();

        /**
         * While requests run, a new one is admitted only if it leaves the free cached blocks that the other waiting
         * requests of the scan will reuse (those are evicted last); false: admission may evict them.
         */
        @WithDefault("true")
        boolean keepQueuedPrefixes();

        /**
         * With keep-queued-prefixes, while at least {@link #protectMinRunning} requests run, a new one is admitted only
         * if it leaves free the reused prefixes (shared prompts, kept contexts) freed within this window: their next
         * request is likely a moment away, and computing a prefix again costs more than a slightly larger batch gains.
         * 0 protects none.
         */
        @WithDefault("2s")
        Duration protectReusedFor();

        /** Below this many running requests, admission ignores {@link #protectReusedFor} (decodes need a batch). */
        @WithDefault("8")
        int protectMinRunning();

        /**
         * Each arriving request's prompt blocks go out as a {@code BlocksQueued} KV event, so every router replica (not
         * only the sender) sends the request's siblings after it before its blocks are computed.
         */
        @WithDefault("true")
        boolean announceQueued();
    }

    interface Lamps {
        /** What a paused session's KV becomes: keep, discard, swap, infercept or lamps. */
        @WithDefault("lamps")
        String policy();

        /** Predicted duration of a call to a tool with no history and no entry in {@code tool-api-durations}. */
        @WithDefault("1s")
        Duration defaultApiDuration();

        /** Predicted duration per tool name until the tool's own observed calls take over. */
        Map<String, Duration> toolApiDurations();

        /** Observed calls per tool the prediction (their median) is taken over. */
        @WithDefault("32")
        int history();

        /** How long a paused session's KV is held for its next turn. */
        @WithDefault("5m")
        Duration pauseTimeout();

        /** Under {@code lamps}, a request waiting longer than this is admitted first whatever its size. */
        @WithDefault("10s")
        Duration starvation();
    }

    interface Sim {
        /** Cost of one uncached prompt token, in microseconds. */
        @WithDefault("200")
        long prefillMicrosPerToken();

        /** Cost of an iteration that decodes, in microseconds. */
        @WithDefault("10000")
        long decodeStepMicros();

        /** Extra cost per decoding sequence in an iteration, in microseconds. */
        @WithDefault("100")
        long decodeMicrosPerSequence();

        /** Cost of copying one token's KV between the device and the host tier, in microseconds (InferCept: ~40). */
        @WithDefault("40")
        long swapMicrosPerToken();

        /** KV bytes per token the sim pretends to hold, for the waste model (Llama-3-8B in fp16: 131072). */
        @WithDefault("131072")
        long kvBytesPerToken();
    }

    interface Kafka extends KafkaConfig {
        /** How often recorded KV events are published. */
        @WithDefault("50ms")
        Duration eventInterval();

        /** How often the pod status heartbeat is published. */
        @WithDefault("500ms")
        Duration statusInterval();
    }
}
