package io.kvmesh.runtime.app;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.net.UnknownHostException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import io.kvmesh.model.chat.ChatTemplates;
import io.kvmesh.model.gguf.GgufFile;
import io.kvmesh.model.tokenizer.ByteTokenizer;
import io.kvmesh.model.tokenizer.Tokenizer;
import io.kvmesh.openai.PromptFormat;
import io.kvmesh.prefix.blocks.BlockHasher;
import io.kvmesh.prefix.events.BlockUsage;
import io.kvmesh.prefix.events.Medium;
import io.kvmesh.prefix.events.PodStatus;
import io.kvmesh.model.gguf.GgufFormatException;
import io.kvmesh.runtime.cpu.CpuBackend;
import io.kvmesh.runtime.cuda.CudaBackend;
import io.kvmesh.runtime.cuda.CudaProbe;
import io.kvmesh.runtime.engine.Engine;
import io.kvmesh.runtime.engine.ForwardBackend;
import io.kvmesh.runtime.model.LlamaModel;
import io.quarkus.runtime.Quarkus;
import io.kvmesh.runtime.engine.EngineStats;
import io.kvmesh.runtime.engine.Scheduler;
import io.kvmesh.runtime.engine.WaitingQueue;
import io.kvmesh.runtime.lamps.CallDurationPredictor;
import io.kvmesh.runtime.lamps.CostProfile;
import io.kvmesh.runtime.lamps.ForwardCostModel;
import io.kvmesh.runtime.lamps.PauseDecisions;
import io.kvmesh.runtime.lamps.PausePolicy;
import io.kvmesh.runtime.lamps.SessionLengthPredictor;
import io.kvmesh.runtime.kv.BlockPool;
import io.kvmesh.runtime.kv.KvCacheManager;
import io.kvmesh.runtime.kv.KvEventRecorder;
import io.kvmesh.runtime.sim.SimBackend;
import io.kvmesh.runtime.sim.SimCostModel;
import io.kvmesh.streams.KafkaConfig;
import io.kvmesh.streams.PodEventPublisher;
import io.kvmesh.streams.PoolTopicsAdmin;
import io.kvmesh.streams.StreamSettings;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;

/**
 * Wires one runtime pod: the engine with its block pool, the KV event recorder, and the Kafka publisher that sends
 * event batches and heartbeats (a new epoch per start; a status tombstone on clean shutdown).
 */
@ApplicationScoped
public class RuntimePod {

    private static final Logger LOG = Logger.getLogger(RuntimePod.class);

    private final RuntimeSettings settings;
    private final int httpPort;
    private final long epoch = System.currentTimeMillis();
    private String podId;
    private String address;
    private KvEventRecorder recorder;
    private Engine engine;
    private PodEventPublisher publisher;
    private ScheduledExecutorService timers;
    private LlamaModel model;
    private PromptFormat promptFormat = PromptFormat.withFallbackChat(new ByteTokenizer(), "the sim backend has no model file");
    private String modelId;
    private ForwardBackend backend;
    /** sim, cpu or cuda: what {@code kvmesh.backend} resolved to. */
    private String backendName;
    private int kvBlocks;
    private int hostBlocks;
    private long kvBytesPerToken;
    private volatile boolean ready;
    private long lastGenerated;
    private long lastFinished;
    private long lastStatusNanos = System.nanoTime();

    RuntimePod(RuntimeSettings settings, @ConfigProperty(name = "quarkus.http.port") int httpPort) {
        this.settings = settings;
        this.httpPort = httpPort;
    }

    void start(@Observes StartupEvent startup) {
        int maxContext = settings.maxContextTokens();
        try {
            backend = backend();
        } catch (IllegalArgumentException | GgufFormatException | IOException e) {
            // A configuration or model-file problem: one clear line, not a stack trace.
            LOG.errorf("cannot start the runtime pod: %s", e.getMessage());
            Quarkus.asyncExit(1);
            return;
        }
        if (model != null) {
            maxContext = Math.min(maxContext, model.config().contextLength());
        }
        LOG.infof("chat template: %s", promptFormat.chatTemplate().description());
        podId = settings.podId().orElseGet(() -> hostName() + "-" + httpPort);
        address = settings.advertisedAddress().orElse("127.0.0.1:" + httpPort);
        recorder = new KvEventRecorder(podId, epoch, settings.blockSize());
        BlockHasher hasher = new BlockHasher(modelId, settings.cacheSalt().orElse(""), settings.blockSize());
        KvCacheManager kv = new KvCacheManager(new BlockPool(kvBlocks, settings.blockSize(), recorder),
                hostBlocks == 0 ? null : new BlockPool(hostBlocks, settings.blockSize(), recorder, Medium.HOST), hasher);
        PauseDecisions decisions;
        try {
            decisions = pauseDecisions();
        } catch (IllegalArgumentException e) {
            LOG.errorf("cannot start the runtime pod: %s", e.getMessage());
            Quarkus.asyncExit(1);
            return;
        }
        RuntimeSettings.Lamps lamps = settings.lamps();
        WaitingQueue waiting = decisions.policy().ordersByMemoryTime()
                ? WaitingQueue.memoryTimeOrder(sequence -> decisions.area(sequence.tokenCount(), sequence.remainingTokens(),
                        sequence.toolCall(), sequence.sessionTurn()), lamps.starvation().toNanos())
                : WaitingQueue.arrivalOrder();
        engine = new Engine(kv, new Scheduler(kv, settings.scheduler().tokenBudget(), settings.scheduler().maxRunning(), waiting)
                        .holdingForInFlightPrefix(settings.scheduler().prefixHoldBlocks())
                        .preferringCachedPrefixes(settings.scheduler().cachedPrefixScan())
                        .keepingQueuedPrefixes(settings.scheduler().keepQueuedPrefixes())
                        .protectingReusedPrefixes(settings.scheduler().protectReusedFor(), settings.scheduler().protectMinRunning()),
                backend, maxContext, decisions, lamps.pauseTimeout()).profilingAtStart()
                .announcingQueuedBlocks(settings.scheduler().announceQueued());
        engine.start();

        RuntimeSettings.Kafka kafka = settings.kafka();
        StreamSettings streams = KafkaConfig.streamSettings(kafka);
        if (streams.createTopics()) {
            PoolTopicsAdmin.ensureTopics(streams);
        }
        publisher = new PodEventPublisher(streams);
        ready = true;
        publishStatus();
        timers = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("kvmesh-publisher").daemon().factory());
        timers.scheduleWithFixedDelay(this::publishEvents, kafka.eventInterval().toMillis(), kafka.eventInterval().toMillis(), TimeUnit.MILLISECONDS);
        timers.scheduleAtFixedRate(this::publishStatus, kafka.statusInterval().toMillis(), kafka.statusInterval().toMillis(), TimeUnit.MILLISECONDS);
        LOG.infof("pod %s (epoch %d) serves %s at %s: %d KV blocks of %d tokens (+%d in the host tier), backend %s, Kafka %s, topics %s.*",
                podId, epoch, modelId, address, kvBlocks, settings.blockSize(), hostBlocks, backendName,
                kafka.bootstrapServers(), kafka.topicPrefix());
    }

    /** The LAMPS policy with its starting costs (the engine profiles the backend at start and refines them). */
    private PauseDecisions pauseDecisions() {
        RuntimeSettings.Lamps lamps = settings.lamps();
        java.util.Map<String, Double> durations = new java.util.HashMap<>();
        lamps.toolApiDurations().forEach((tool, duration) -> durations.put(tool, duration.toNanos() / 1e9));
        return new PauseDecisions(PausePolicy.parse(lamps.policy()), kvBytesPerToken,
                new CostProfile(512, 32, new ForwardCostModel(0, 2e-4, 1e-2), 4e-5),
                new CallDurationPredictor(lamps.history(), lamps.defaultApiDuration().toNanos() / 1e9, durations),
                new SessionLengthPredictor(lamps.history()));
    }

    /** The configured backend ({@link BackendChoice}), loading the model file for {@code cpu} and {@code cuda}. */
    private ForwardBackend backend() throws IOException {
        BackendChoice choice = BackendChoice.resolve(settings.backend(), CudaProbe::availability);
        backendName = choice.backend();
        if (choice.note() != null) {
            LOG.info(choice.note());
        }
        if (choice.backend().equals("sim")) {
            modelId = settings.modelId().orElse("kvmesh-sim");
            kvBlocks = settings.kvBlocks().orElse(4096);
            hostBlocks = settings.hostBlocks().orElse(8192);
            RuntimeSettings.Sim sim = settings.sim();
            kvBytesPerToken = sim.kvBytesPerToken();
            return new SimBackend(new SimCostModel(Duration.ofNanos(sim.prefillMicrosPerToken() * 1000),
                    Duration.ofNanos(sim.decodeStepMicros() * 1000), Duration.ofNanos(sim.decodeMicrosPerSequence() * 1000),
                    Duration.ofNanos(sim.swapMicrosPerToken() * 1000)), settings.blockSize());
        }
        Path file = Path.of(settings.modelPath().orElseThrow(() ->
                new IllegalArgumentException("kvmesh.backend=" + settings.backend() + " needs kvmesh.model-path (a GGUF file)")));
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("kvmesh.model-path " + file + " is not a file");
        }
        long started = System.nanoTime();
        model = LlamaModel.load(file);
        promptFormat = promptFormat(model, file);
        modelId = settings.modelId().orElse(file.getFileName().toString().replaceFirst("\\.gguf$", ""));
        LOG.infof("loaded %s (%s) in %d ms: %s", file, model.name(), (System.nanoTime() - started) / 1_000_000, model.config());
        // float32 K and V for every layer: what one block costs on this model (the same on both backends).
        long bytesPerBlock = 2L * Float.BYTES * settings.blockSize() * model.config().layers() * model.config().kvDim();
        kvBlocks = settings.kvBlocks().orElse((int) Math.max(1, Math.min(4096, settings.kvCacheMib() * (1L << 20) / bytesPerBlock)));
        hostBlocks = settings.hostBlocks().orElse((int) Math.min(16384, settings.hostSwapMib() * (1L << 20) / bytesPerBlock));
        kvBytesPerToken = bytesPerBlock / settings.blockSize();
        if (choice.backend().equals("cuda")) {
            try {
                return new CudaBackend(model, kvBlocks, hostBlocks, settings.blockSize());
            } catch (IllegalStateException e) {
                throw new IllegalArgumentException(e.getMessage(), e);
            }
        }
        return new CpuBackend(model, kvBlocks, hostBlocks, settings.blockSize());
    }

    /**
     * The model's tokenizer with the chat template of its file: the same as the router's
     * {@code PromptFormat.fromGguf} of that file (the model's tokenizer is {@code Tokenizers.fromGguf} of it), so
     * router and pod tokenize every request alike.
     */
    public static PromptFormat promptFormat(LlamaModel model, Path file) throws IOException {
        try (GgufFile gguf = GgufFile.open(file)) {
            return new PromptFormat(model.tokenizer(), ChatTemplates.fromGguf(gguf));
        }
    }

    void stop(@Observes ShutdownEvent shutdown) {
        ready = false;
        if (timers != null) {
            timers.shutdownNow();
        }
        if (engine != null) {
            engine.close();
        }
        if (backend instanceof AutoCloseable closeable) {
            try {
                closeable.close();
            } catch (Exception e) {
                LOG.warnf("closing the %s backend failed: %s", backendName, e.toString());
            }
        }
        if (publisher != null) {
            publishEvents();
            publisher.tombstone(podId);
            publisher.close();
        }
        if (model != null) {
            model.close();
        }
    }

    public Engine engine() {
        return engine;
    }

    public Tokenizer tokenizer() {
        return promptFormat.tokenizer();
    }

    /** How requests become token ids: the tokenizer and the chat template (as the router has them). */
    public PromptFormat promptFormat() {
        return promptFormat;
    }

    public String modelId() {
        return modelId;
    }

    public String podId() {
        return podId;
    }

    /** KV bytes one block holds (the waste model's M times the block size). */
    public long kvBytesPerBlock() {
        return kvBytesPerToken * settings.blockSize();
    }

    public long maxBodyBytes() {
        return settings.maxBodyBytes();
    }

    public long startedAtSeconds() {
        return epoch / 1000;
    }

    public boolean isReady() {
        return ready;
    }

    private void publishEvents() {
        try {
            recorder.drain(System.currentTimeMillis()).ifPresent(publisher::publish);
        } catch (RuntimeException e) {
            LOG.warnf("publishing KV events failed: %s", e.getMessage());
        }
    }

    private void publishStatus() {
        try {
            EngineStats stats = engine.stats();
            long now = System.nanoTime();
            double seconds = Math.max(1e-3, (now - lastStatusNanos) / 1e9);
            double tokensPerSecond = (stats.generatedTokens() - lastGenerated) / seconds;
            double requestsPerSecond = (stats.finishedRequests() - lastFinished) / seconds;
            lastGenerated = stats.generatedTokens();
            lastFinished = stats.finishedRequests();
            lastStatusNanos = now;
            publisher.publish(new PodStatus(podId, epoch, address, modelId, settings.blockSize(), ready,
                    stats.running(), stats.waiting(), stats.paused(), new BlockUsage(stats.usedBlocks(), stats.totalBlocks()),
                    new BlockUsage(stats.hostUsedBlocks(), stats.hostTotalBlocks()), stats.prefixHitRate(), tokensPerSecond, requestsPerSecond, System.currentTimeMillis()));
        } catch (RuntimeException e) {
            LOG.warnf("publishing pod status failed: %s", e.getMessage());
        }
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "pod";
        }
    }
}
