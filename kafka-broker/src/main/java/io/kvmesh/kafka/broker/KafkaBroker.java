package io.kvmesh.kafka.broker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Uuid;

/**
 * A real single-node Apache Kafka broker (KRaft, broker and controller in one process) running as a separate OS
 * process from the Kafka server jars of this build: for tests and for the local mesh.
 *
 * <p>{@link #start()} formats a fresh log directory, picks free ports, starts the broker and returns once it serves
 * requests. {@link #stop()} shuts it down cleanly, {@link #kill()} sends SIGKILL, {@link #restart()} starts it again
 * on the same ports and data, so fault tests see what clients see in production. The broker's output goes to
 * {@link #logFile()}. If this JVM dies, the broker notices its closed standard input and exits (see
 * {@link BrokerProcess}).
 */
public final class KafkaBroker implements AutoCloseable {

    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);

    private final Path dataDirectory;
    private final boolean deleteOnClose;
    private final String heap;
    private final Map<String, String> extraProperties;
    private final int port;
    private final int controllerPort;
    private final String classpath;
    private final boolean killOnJvmExit;
    private final Thread shutdownHook = new Thread(this::killQuietly, "kvmesh-kafka-broker-shutdown");
    private Process process;

    private KafkaBroker(Builder builder) throws IOException {
        this.deleteOnClose = builder.dataDirectory == null;
        this.dataDirectory = deleteOnClose ? Files.createTempDirectory("kvmesh-kafka-") : builder.dataDirectory;
        this.heap = builder.heap;
        this.extraProperties = Map.copyOf(builder.properties);
        this.killOnJvmExit = builder.killOnJvmExit;
        this.classpath = BrokerClasspath.resolve();
        int[] ports = freePorts(2);
        this.port = builder.port > 0 ? builder.port : ports[0];
        this.controllerPort = ports[1];
    }

    /** Starts a broker on free ports with a temporary data directory that {@link #close()} deletes. */
    public static KafkaBroker start() {
        return builder().start();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Options for a broker; every one has a default suited to tests. */
    public static final class Builder {
        private Path dataDirectory;
        private String heap = "512m";
        private int port;
        private boolean killOnJvmExit = true;
        private final Map<String, String> properties = new LinkedHashMap<>();

        private Builder() {
        }

        /** Keep the broker's data here (kept on close); default: a temporary directory deleted on close. */
        public Builder dataDirectory(Path directory) {
            this.dataDirectory = directory;
            return this;
        }

        /** The client port; default: a free one. */
        public Builder port(int port) {
            this.port = port;
            return this;
        }

        /** Maximum heap of the broker JVM, e.g. {@code 512m}. */
        public Builder heap(String heap) {
            this.heap = heap;
            return this;
        }

        /**
         * Whether a JVM shutdown hook kills the broker (default). An owner that stops its own clients first in its own
         * hook (the local mesh) turns this off, since JVM shutdown hooks run in no particular order.
         */
        public Builder killOnJvmExit(boolean kill) {
            this.killOnJvmExit = kill;
            return this;
        }

        /** A broker setting added to (or replacing one in) the generated {@code server.properties}. */
        public Builder property(String key, String value) {
            properties.put(key, value);
            return this;
        }

        public KafkaBroker start() {
            try {
                KafkaBroker broker = new KafkaBroker(this);
                broker.format();
                broker.launch();
                return broker;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot start a Kafka broker", e);
            }
        }
    }

    /** {@code 127.0.0.1:port}, for {@code bootstrap.servers}. */
    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    public Path dataDirectory() {
        return dataDirectory;
    }

    /** Everything the broker process printed, across restarts. */
    public Path logFile() {
        return dataDirectory.resolve("broker.log");
    }

    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** The broker's operating-system process id; fails when it is not running. */
    public synchronized long pid() {
        if (!isRunning()) {
            throw new IllegalStateException("the broker is not running");
        }
        return process.pid();
    }

    /** Shuts the broker down cleanly (SIGTERM, waiting for it to finish); kills it if that takes too long. */
    public synchronized void stop() {
        if (!isRunning()) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                kill();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            kill();
        }
        removeShutdownHook();
    }

    /** Kills the broker with SIGKILL, as a crash would, and waits until it is gone. */
    public synchronized void kill() {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        try {
            process.onExit().get(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("broker process " + process.pid() + " did not die after SIGKILL", e);
        }
        removeShutdownHook();
    }

    /** Starts the broker again on the same ports and data; stops it cleanly first if it is running. */
    public synchronized void restart() {
        stop();
        try {
            launch();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot restart the Kafka broker", e);
        }
    }

    /** Stops the broker and, when its data directory was temporary, deletes it. */
    @Override
    public synchronized void close() {
        stop();
        if (deleteOnClose) {
            deleteRecursively(dataDirectory);
        }
    }

    @Override
    public String toString() {
        return "KafkaBroker[" + bootstrapServers() + ", data=" + dataDirectory + "]";
    }

    /** Formats a new log directory; a directory formatted before keeps its data (the broker restarts on it). */
    private void format() throws IOException {
        Files.createDirectories(dataDirectory);
        Path config = writeConfig();
        if (Files.exists(dataDirectory.resolve("logs").resolve("meta.properties"))) {
            return;
        }
        String clusterId = Uuid.randomUuid().toString();
        Process formatter = new ProcessBuilder(command("kafka.tools.StorageTool",
                "format", "-t", clusterId, "-c", config.toString()))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()))
                .start();
        try {
            if (!formatter.waitFor(READY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                formatter.destroyForcibly();
                throw new IllegalStateException("formatting the Kafka log directory timed out; see " + logFile());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            formatter.destroyForcibly();
            throw new IllegalStateException("interrupted while formatting the Kafka log directory", e);
        }
        if (formatter.exitValue() != 0) {
            throw new IllegalStateException("formatting the Kafka log directory failed (exit " + formatter.exitValue()
                    + "): " + tail(logFile(), 5));
        }
    }

    private synchronized void launch() throws IOException {
        Path config = dataDirectory.resolve("server.properties");
        process = new ProcessBuilder(command(BrokerProcess.class.getName(), config.toString()))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()))
                .start();
        removeShutdownHook();
        if (killOnJvmExit) {
            Runtime.getRuntime().addShutdownHook(shutdownHook);
        }
        awaitReady();
    }

    /** Waits until the port accepts connections, then until the broker answers a cluster description. */
    private void awaitReady() {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (!accepts(port)) {
            checkStarting(deadline);
            sleep(Duration.ofMillis(100));
        }
        Properties adminConfig = new Properties();
        adminConfig.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        adminConfig.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
        adminConfig.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "2000");
        try (Admin admin = Admin.create(adminConfig)) {
            while (true) {
                checkStarting(deadline);
                try {
                    if (!admin.describeCluster(new DescribeClusterOptions().timeoutMs(2000)).nodes()
                            .get(3, TimeUnit.SECONDS).isEmpty()) {
                        return;
                    }
                } catch (ExecutionException | TimeoutException e) {
                    // listening, not serving yet
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for the Kafka broker", e);
                }
                sleep(Duration.ofMillis(100));
            }
        }
    }

    private void checkStarting(long deadline) {
        if (!process.isAlive()) {
            throw new IllegalStateException("the Kafka broker exited with " + process.exitValue()
                    + " while starting: " + tail(logFile(), 5));
        }
        if (System.nanoTime() > deadline) {
            killQuietly();
            throw new IllegalStateException("the Kafka broker did not serve within " + READY_TIMEOUT.toSeconds()
                    + " s: " + tail(logFile(), 5));
        }
    }

    private static boolean accepts(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private Path writeConfig() throws IOException {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("process.roles", "broker,controller");
        settings.put("node.id", "1");
        settings.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        settings.put("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
        settings.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
        settings.put("controller.listener.names", "CONTROLLER");
        settings.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        settings.put("log.dirs", dataDirectory.resolve("logs").toString());
        settings.put("offsets.topic.replication.factor", "1");
        settings.put("offsets.topic.num.partitions", "4");
        settings.put("transaction.state.log.replication.factor", "1");
        settings.put("transaction.state.log.min.isr", "1");
        settings.put("share.coordinator.state.topic.replication.factor", "1");
        settings.put("share.coordinator.state.topic.min.isr", "1");
        settings.put("group.initial.rebalance.delay.ms", "0");
        // Topics are created on purpose (by the operator, the local launcher or a test), never by a typo.
        settings.put("auto.create.topics.enable", "false");
        settings.putAll(extraProperties);
        StringBuilder text = new StringBuilder("# written by kvmesh KafkaBroker\n");
        settings.forEach((key, value) -> text.append(key).append('=').append(value).append('\n'));
        Path config = dataDirectory.resolve("server.properties");
        Files.writeString(config, text, StandardCharsets.UTF_8);
        return config;
    }

    private List<String> command(String mainClass, String... args) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xms64m");
        command.add("-Xmx" + heap);
        command.add("-XX:+UseSerialGC");
        command.add("-Djava.awt.headless=true");
        command.add("--sun-misc-unsafe-memory-access=allow");
        command.add("-Dorg.slf4j.simpleLogger.showDateTime=true");
        command.add("-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS");
        command.add("-Dorg.slf4j.simpleLogger.log.org.apache.kafka=warn");
        command.add("-Dorg.slf4j.simpleLogger.log.kafka=info");
        command.add("-cp");
        command.add(classpath);
        command.add(mainClass);
        command.addAll(List.of(args));
        return command;
    }

    private void killQuietly() {
        Process running = process;
        if (running != null) {
            running.destroyForcibly();
        }
    }

    private void removeShutdownHook() {
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // the JVM is shutting down already
        }
    }

    private static int[] freePorts(int count) throws IOException {
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            int[] ports = new int[count];
            for (int i = 0; i < count; i++) {
                ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                sockets.add(socket);
                ports[i] = socket.getLocalPort();
            }
            return ports;
        } finally {
            for (ServerSocket socket : sockets) {
                socket.close();
            }
        }
    }

    private static String tail(Path file, int lines) {
        try {
            List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
            return String.join(" | ", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static void deleteRecursively(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + root, e);
        }
    }
}
