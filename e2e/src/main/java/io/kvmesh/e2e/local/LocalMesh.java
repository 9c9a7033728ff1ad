package io.kvmesh.e2e.local;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import io.kvmesh.kafka.broker.KafkaBroker;
import io.kvmesh.prefix.events.PoolTopics;
import io.kvmesh.streams.PoolTopicsAdmin;
import io.kvmesh.streams.StreamSettings;

/**
 * The whole mesh on one machine, every part a real process: a Kafka broker, the cache-index service, N runtime pods
 * and the router, all logging into one run folder. {@code ./kvmesh up} and the e2e tests start it the same way.
 */
public final class LocalMesh implements AutoCloseable {

    /**
     * What to start. {@code settings} go to every runtime pod as configuration (e.g. sim costs, KV blocks),
     * {@code routerSettings} to the router (e.g. tenants).
     */
    public record Options(Path root, int pods, String backend, Path model, int routerPort, String policy, Path runDirectory,
                          Map<String, String> settings, Map<String, String> routerSettings, Duration heartbeatTimeout) {

        public static Options defaults(Path root) {
            String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
            return new Options(root, 2, "sim", null, 8080, "prefix-aware", root.resolve(".kvmesh/runs/" + stamp), Map.of(),
                    Map.of(), Duration.ofSeconds(3));
        }

        public Options withPods(int count) {
            return new Options(root, count, backend, model, routerPort, policy, runDirectory, settings, routerSettings, heartbeatTimeout);
        }

        public Options withRouterPort(int port) {
            return new Options(root, pods, backend, model, port, policy, runDirectory, settings, routerSettings, heartbeatTimeout);
        }

        public Options withPolicy(String name) {
            return new Options(root, pods, backend, model, routerPort, name, runDirectory, settings, routerSettings, heartbeatTimeout);
        }

        public Options withBackend(String name) {
            return new Options(root, pods, name, model, routerPort, policy, runDirectory, settings, routerSettings, heartbeatTimeout);
        }

        /** The GGUF file the cpu backend serves (and whose tokenizer the router uses). */
        public Options withModel(Path file) {
            return new Options(root, pods, backend, file, routerPort, policy, runDirectory, settings, routerSettings, heartbeatTimeout);
        }

        public Options withRunDirectory(Path directory) {
            return new Options(root, pods, backend, model, routerPort, policy, directory, settings, routerSettings, heartbeatTimeout);
        }

        public Options withRouterSettings(Map<String, String> extra) {
            return new Options(root, pods, backend, model, routerPort, policy, runDirectory, settings, extra, heartbeatTimeout);
        }

        public Options withSettings(Map<String, String> extra) {
            return new Options(root, pods, backend, model, routerPort, policy, runDirectory, extra, routerSettings, heartbeatTimeout);
        }
    }

    private static final String TOPIC_PREFIX = "kvmesh.local.mesh";
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(120);

    private final Options options;
    private final KafkaBroker broker;
    private final ServiceProcess cacheIndex;
    private final List<ServiceProcess> runtimes = new ArrayList<>();
    private final ServiceProcess router;
    private final List<ServiceProcess> all = new ArrayList<>();

    private LocalMesh(Options options, Consumer<String> progress) throws IOException {
        this.options = options;
        Files.createDirectories(options.runDirectory());
        progress.accept("starting Kafka broker");
        // The mesh stops the broker last itself (services send their tombstones first); its own hook would race.
        broker = KafkaBroker.builder().dataDirectory(options.runDirectory().resolve("kafka")).killOnJvmExit(false).start();
        StreamSettings streams = new StreamSettings(broker.bootstrapServers(), new PoolTopics(TOPIC_PREFIX), 4,
                Duration.ofHours(1), true);
        PoolTopicsAdmin.ensureTopics(streams);

        Map<String, String> kafka = Map.of(
                "kvmesh.kafka.bootstrap-servers", broker.bootstrapServers(),
                "kvmesh.kafka.topic-prefix", TOPIC_PREFIX);
        Map<String, String> followers = new LinkedHashMap<>(kafka);
        followers.put("kvmesh.heartbeat-timeout", options.heartbeatTimeout().toMillis() + "ms");

        cacheIndex = new ServiceProcess("cache-index", jar("cache-index-service"), LoopbackPorts.next(), followers, options.runDirectory());
        all.add(cacheIndex);
        for (int i = 1; i <= options.pods(); i++) {
            Map<String, String> pod = new LinkedHashMap<>(kafka);
            pod.putAll(options.settings());
            pod.put("kvmesh.pod-id", "runtime-" + i);
            pod.put("kvmesh.backend", options.backend());
            if (options.model() != null) {
                pod.put("kvmesh.model-path", options.model().toString());
            }
            ServiceProcess runtime = new ServiceProcess("runtime-" + i, jar("gpu-runtime-service"), LoopbackPorts.next(), pod, options.runDirectory());
            runtimes.add(runtime);
            all.add(runtime);
        }
        Map<String, String> routing = new LinkedHashMap<>(followers);
        routing.put("kvmesh.policy", options.policy());
        routing.putAll(options.routerSettings());
        if (options.model() != null) {
            routing.put("kvmesh.model-path", options.model().toString());
        }
        router = new ServiceProcess("router", jar("router-service"), options.routerPort() == 0 ? LoopbackPorts.next() : options.routerPort(),
                routing, options.runDirectory());
        all.add(router);
    }

    /** Starts everything and returns once every service is ready; stops what it started if anything fails. */
    public static LocalMesh start(Options options, Consumer<String> progress) {
        LocalMesh mesh;
        try {
            mesh = new LocalMesh(options, progress);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            for (ServiceProcess service : mesh.all) {
                service.start();
            }
            mesh.awaitReady(progress);
            return mesh;
        } catch (RuntimeException e) {
            mesh.close();
            throw e;
        }
    }

    private void awaitReady(Consumer<String> progress) {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        List<ServiceProcess> pending = new ArrayList<>(all);
        while (!pending.isEmpty()) {
            pending.removeIf(ServiceProcess::isReady);
            progress.accept("ready " + (all.size() - pending.size()) + "/" + all.size()
                    + (pending.isEmpty() ? "" : ", waiting for " + String.join(", ", pending.stream().map(ServiceProcess::name).toList())));
            if (pending.isEmpty()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("not ready after " + READY_TIMEOUT.toSeconds() + " s: "
                        + pending.stream().map(s -> s.name() + " (log " + s.log() + ")").toList());
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while starting the mesh", e);
            }
        }
    }

    /**
     * Starts one more router replica on the same topics (routers are active-active), with its own policy; returns once
     * it is ready. {@link #close()} stops it with the rest.
     */
    public ServiceProcess startRouter(String name, String policy) {
        return startRouter(name, policy, Map.of());
    }

    /**
     * Starts the operator (its packaged jar) against a Kubernetes API server with {@code settings} (the client's URL,
     * token and CA, a lease namespace...); returns once it is ready. {@link #close()} stops it with the rest.
     */
    public ServiceProcess startOperator(Map<String, String> settings) {
        ServiceProcess operator = new ServiceProcess("operator", jar("operator"), LoopbackPorts.next(), settings, options.runDirectory());
        all.add(operator);
        operator.start();
        awaitReady(operator);
        return operator;
    }

    /**
     * Starts a service of this mesh again, as its orchestrator would after a crash: on the same port, with the same
     * settings, its output appended to the same log; SIGKILLs it first if it is still running. Returns once it is ready.
     */
    public void restart(ServiceProcess service) {
        if (!all.contains(service)) {
            throw new IllegalArgumentException(service.name() + " is not part of this mesh");
        }
        service.kill();
        service.start();
        awaitReady(service);
    }

    /** The topic prefix the mesh's processes use. */
    public String topicPrefix() {
        return TOPIC_PREFIX;
    }

    private static void awaitReady(ServiceProcess process) {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (!process.isReady()) {
            if (System.nanoTime() > deadline || !process.isAlive()) {
                throw new IllegalStateException(process.name() + " not ready; see " + process.log());
            }
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }
    }

    /** Another router replica on the same topics, with extra settings of its own. */
    public ServiceProcess startRouter(String name, String policy, Map<String, String> settings) {
        Map<String, String> routing = new LinkedHashMap<>(Map.of(
                "kvmesh.kafka.bootstrap-servers", broker.bootstrapServers(),
                "kvmesh.kafka.topic-prefix", TOPIC_PREFIX,
                "kvmesh.heartbeat-timeout", options.heartbeatTimeout().toMillis() + "ms",
                "kvmesh.policy", policy));
        routing.putAll(settings);
        ServiceProcess extra = new ServiceProcess(name, jar("router-service"), LoopbackPorts.next(), routing, options.runDirectory());
        all.add(extra);
        extra.start();
        awaitReady(extra);
        return extra;
    }

    public String routerUrl() {
        return router.url();
    }

    public ServiceProcess router() {
        return router;
    }

    public ServiceProcess cacheIndex() {
        return cacheIndex;
    }

    public List<ServiceProcess> runtimes() {
        return List.copyOf(runtimes);
    }

    public KafkaBroker broker() {
        return broker;
    }

    public Path runDirectory() {
        return options.runDirectory();
    }

    /** Stops the router, the runtimes, the cache index and the broker, in that order; safe to call twice. */
    @Override
    public void close() {
        List<ServiceProcess> reverse = new ArrayList<>(all);
        java.util.Collections.reverse(reverse);
        reverse.parallelStream().forEach(ServiceProcess::stop);
        broker.stop();
    }

    private Path jar(String module) {
        Path jar = options.root().resolve(module).resolve("target/quarkus-app/quarkus-run.jar");
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing: build with ./mvnw -pl " + module + " -am package -DskipTests");
        }
        return jar;
    }
}
