package io.kvmesh.runtime.app;

import java.time.Duration;
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

    /** Compute backend: {@code sim} (cost model, no arithmetic), {@code cpu} (needs {@code model-path}) or {@code auto} (cpu until the cuda backend lands). */
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

    /** Longest prompt plus completion accepted, in tokens (also capped by the KV pool). */
    @WithDefault("8192")
    int maxContextTokens();

    /** Largest request body accepted, in bytes. */
    @WithDefault("8388608")
    long maxBodyBytes();

    Scheduling scheduler();

    Sim sim();

    Kafka kafka();

    interface Scheduling {
        /** Tokens computed per iteration at most (prefill chunks plus decodes). */
        @WithDefault("2048")
        int tokenBudget();

        /** Sequences running at once at most. */
        @WithDefault("64")
        int maxRunning();
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
