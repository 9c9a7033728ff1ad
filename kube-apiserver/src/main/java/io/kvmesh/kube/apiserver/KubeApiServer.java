package io.kvmesh.kube.apiserver;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A real Kubernetes API server for tests: etcd, kube-apiserver {@value KubeBinaries#VERSION} and optionally
 * kube-controller-manager, each a separate OS process on free loopback ports, with a fresh CA, serving certificate
 * and admin bearer token. No container engine, no kubelet: pods are stored but never run.
 *
 * <p>{@link #start()} returns once {@code /readyz} answers; {@link #kubeconfig()} points any client at it, and
 * {@link #kubectl(String...)} runs {@code kubectl} against it. {@link #close()} stops the API server before etcd
 * (SIGTERM, then SIGKILL after {@value OrphanWatchdog#STOP_SECONDS} s) and deletes the server's directory. A JVM
 * shutdown hook closes a server that was left open, and an {@link OrphanWatchdog} stops the processes when the JVM
 * dies without running hooks. The processes' output is in {@link #logFile(String)}.
 */
public final class KubeApiServer implements AutoCloseable {

    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration KUBECTL_TIMEOUT = Duration.ofSeconds(120);
    private static final String ETCD = "etcd";
    private static final String API_SERVER = "kube-apiserver";
    private static final String CONTROLLER_MANAGER = "kube-controller-manager";

    private final KubeBinaries binaries;
    private final Path directory;
    private final boolean withControllerManager;
    private final OrphanWatchdog watchdog;
    private final Thread shutdownHook = new Thread(this::close, "kvmesh-kube-apiserver-shutdown");
    private final List<Process> processes = new ArrayList<>();
    private final int etcdPort;
    private final int etcdPeerPort;
    private final int port;
    private Credentials credentials;
    private Path kubeconfig;
    private boolean closed;

    private KubeApiServer(Builder builder) throws IOException {
        this.binaries = KubeBinaries.locate();
        this.withControllerManager = builder.controllerManager;
        this.directory = Files.createTempDirectory("kvmesh-kube-");
        this.watchdog = OrphanWatchdog.start(directory);
        int[] ports = freePorts(3);
        this.etcdPort = ports[0];
        this.etcdPeerPort = ports[1];
        this.port = ports[2];
    }

    /** Starts etcd and kube-apiserver, without a controller manager. */
    public static KubeApiServer start() {
        return builder().start();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Options for a server; every one has a default suited to tests. */
    public static final class Builder {
        private boolean controllerManager;

        private Builder() {
        }

        /**
         * Also run kube-controller-manager (default: off): Deployments then get ReplicaSets and Pods, and deleting an
         * owner garbage-collects its dependents. Costs about 90 MiB.
         */
        public Builder controllerManager(boolean run) {
            this.controllerManager = run;
            return this;
        }

        public KubeApiServer start() {
            KubeApiServer server;
            try {
                server = new KubeApiServer(this);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot prepare a Kubernetes API server", e);
            }
            try {
                server.launch();
                return server;
            } catch (IOException | RuntimeException e) {
                server.abandon();
                String message = "the Kubernetes API server did not start (logs kept in " + server.directory + "): "
                        + e.getMessage();
                throw e instanceof IOException io ? new UncheckedIOException(message, io)
                        : new IllegalStateException(message, e);
            }
        }
    }

    /** {@code https://127.0.0.1:<port>}. */
    public String url() {
        return "https://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /** A bearer token of a {@code system:masters} user: may do anything. */
    public String token() {
        return credentials.token();
    }

    /** The CA certificate (PEM) that signed the server's serving certificate. */
    public Path caCertificate() {
        return credentials.caCertificate();
    }

    /** A kubeconfig file (server, CA data, token; namespace {@code default}) for kubectl, fabric8 and the like. */
    public Path kubeconfig() {
        return kubeconfig;
    }

    /** The server's temporary directory: key material, etcd data, logs; deleted by {@link #close()}. */
    public Path directory() {
        return directory;
    }

    /** Output of one of the processes: {@code etcd}, {@code kube-apiserver} or {@code kube-controller-manager}. */
    public Path logFile(String process) {
        return directory.resolve(process + ".log");
    }

    public boolean hasControllerManager() {
        return withControllerManager;
    }

    /** Operating-system ids of the running processes, in start order (etcd first). */
    public synchronized List<Long> pids() {
        return processes.stream().filter(Process::isAlive).map(Process::pid).toList();
    }

    /** Runs {@code kubectl} with this server's kubeconfig and returns its exit code and output. */
    public KubectlResult kubectl(String... args) {
        return kubectlWithInput(null, args);
    }

    /** Like {@link #kubectl(String...)} with {@code input} on kubectl's standard input ({@code apply -f -}). */
    public KubectlResult kubectlWithInput(String input, String... args) {
        List<String> command = new ArrayList<>();
        command.add(binaries.kubectl().toString());
        command.add("--kubeconfig=" + kubeconfig);
        command.add("--cache-dir=" + directory.resolve("kubectl-cache"));
        command.addAll(List.of(args));
        try {
            Process process = new ProcessBuilder(command).start();
            CompletableFuture<String> stderr = CompletableFuture.supplyAsync(() -> readAll(process.getErrorStream()),
                    Thread::startVirtualThread);
            CompletableFuture<String> stdout = CompletableFuture.supplyAsync(() -> readAll(process.getInputStream()),
                    Thread::startVirtualThread);
            try (var in = process.getOutputStream()) {
                if (input != null) {
                    in.write(input.getBytes(StandardCharsets.UTF_8));
                }
            }
            if (!process.waitFor(KUBECTL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("kubectl " + String.join(" ", args) + " did not finish within "
                        + KUBECTL_TIMEOUT.toSeconds() + " s");
            }
            return new KubectlResult(process.exitValue(), stdout.join(), stderr.join());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + binaries.kubectl(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running kubectl", e);
        }
    }

    /** Stops the controller manager, the API server, then etcd, and deletes {@link #directory()}. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        removeShutdownHook();
        stopProcesses();
        deleteRecursively(directory);
    }

    /** After a failed start: stops the processes but keeps the directory, so that its logs can be read. */
    private void abandon() {
        synchronized (this) {
            closed = true;
        }
        removeShutdownHook();
        stopProcesses();
    }

    private void removeShutdownHook() {
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // the JVM is shutting down already: this is the hook
        }
    }

    @Override
    public String toString() {
        return "KubeApiServer[" + url() + (withControllerManager ? ", controller-manager" : "") + ", " + directory + "]";
    }

    private void launch() throws IOException {
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        credentials = Credentials.create(directory);
        kubeconfig = writeKubeconfig();
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();

        Process etcd = spawn(ETCD, binaries.etcd(),
                "--name=kvmesh",
                "--data-dir=" + directory.resolve("etcd"),
                "--listen-client-urls=http://127.0.0.1:" + etcdPort,
                "--advertise-client-urls=http://127.0.0.1:" + etcdPort,
                "--listen-peer-urls=http://127.0.0.1:" + etcdPeerPort,
                "--initial-advertise-peer-urls=http://127.0.0.1:" + etcdPeerPort,
                "--initial-cluster=kvmesh=http://127.0.0.1:" + etcdPeerPort,
                "--logger=zap",
                // Test data: durability is not worth an fsync per write.
                "--unsafe-no-fsync");

        spawn(API_SERVER, binaries.apiServer(),
                "--etcd-servers=http://127.0.0.1:" + etcdPort,
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                "--secure-port=" + port,
                "--insecure-port=0",
                "--cert-dir=" + directory.resolve("pki"),
                "--tls-cert-file=" + credentials.servingCertificate(),
                "--tls-private-key-file=" + credentials.servingKey(),
                "--client-ca-file=" + credentials.caCertificate(),
                "--token-auth-file=" + credentials.tokenFile(),
                "--authorization-mode=RBAC",
                "--service-cluster-ip-range=10.0.0.0/24",
                // The "kubernetes" Service cannot have a loopback endpoint; without this it logs an error every 10 s.
                "--endpoint-reconciler-type=none",
                "--service-account-issuer=https://kubernetes.default.svc",
                "--service-account-key-file=" + credentials.serviceAccountPublicKey(),
                "--service-account-signing-key-file=" + credentials.serviceAccountKey(),
                // No token controller runs, so pods could never get a service-account token mounted.
                "--disable-admission-plugins=ServiceAccount",
                "--profiling=false");
        awaitReady(deadline, etcd);

        if (withControllerManager) {
            spawn(CONTROLLER_MANAGER, binaries.controllerManager(),
                    "--kubeconfig=" + kubeconfig,
                    "--leader-elect=false",
                    "--port=0",
                    "--secure-port=0",
                    "--use-service-account-credentials=false",
                    // Needs a service-account private key and is of no use without a kubelet.
                    "--controllers=*,-serviceaccount-token",
                    "--profiling=false");
            awaitControllers(deadline);
        }
    }

    private Process spawn(String name, Path executable, String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(executable.toString());
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command)
                .directory(directory.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile(name).toFile()))
                .start();
        synchronized (this) {
            processes.add(process);
        }
        watchdog.guard(process);
        return process;
    }

    /** Polls {@code /readyz} until it answers 200; fails early when a process has exited. */
    private void awaitReady(long deadline, Process etcd) {
        HttpClient client = HttpClient.newBuilder().sslContext(trustingCa()).connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest request = HttpRequest.newBuilder(URI.create(url() + "/readyz"))
                .header("Authorization", "Bearer " + token())
                .timeout(Duration.ofSeconds(5))
                .build();
        try (client) {
            while (true) {
                checkAlive(deadline, "answer /readyz");
                try {
                    if (client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                        return;
                    }
                } catch (IOException e) {
                    // not listening yet
                }
                sleep(Duration.ofMillis(100));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the API server", e);
        }
    }

    /**
     * Waits until the controller manager's controllers run: its root-CA publisher has written
     * {@code kube-root-ca.crt} into namespace {@code default}.
     */
    private void awaitControllers(long deadline) {
        while (true) {
            checkAlive(deadline, "run its controllers");
            if (kubectl("get", "configmap", "kube-root-ca.crt", "--namespace=default", "-o", "name").succeeded()) {
                return;
            }
            sleep(Duration.ofMillis(200));
        }
    }

    private synchronized void checkAlive(long deadline, String goal) {
        String[] names = {ETCD, API_SERVER, CONTROLLER_MANAGER};
        for (int i = 0; i < processes.size(); i++) {
            Process process = processes.get(i);
            if (!process.isAlive()) {
                throw new IllegalStateException(names[i] + " exited with " + process.exitValue() + ": "
                        + tail(logFile(names[i]), 8));
            }
        }
        if (System.nanoTime() > deadline) {
            throw new IllegalStateException("the server did not " + goal + " within " + READY_TIMEOUT.toSeconds()
                    + " s: " + tail(logFile(processes.size() > 2 ? CONTROLLER_MANAGER : API_SERVER), 8));
        }
    }

    /** Last started first, so the API server stops before etcd (it can hang once etcd is gone). */
    private void stopProcesses() {
        watchdog.close();
        List<Process> running;
        synchronized (this) {
            running = new ArrayList<>(processes);
        }
        for (Process process : running.reversed()) {
            stop(process);
        }
    }

    private static void stop(Process process) {
        if (!process.isAlive()) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(OrphanWatchdog.STOP_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(OrphanWatchdog.STOP_SECONDS, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }

    private Path writeKubeconfig() throws IOException {
        String caData = Base64.getEncoder().encodeToString(Files.readAllBytes(credentials.caCertificate()));
        String text = """
                apiVersion: v1
                kind: Config
                clusters:
                - name: kvmesh
                  cluster:
                    server: %s
                    certificate-authority-data: %s
                users:
                - name: admin
                  user:
                    token: %s
                contexts:
                - name: kvmesh
                  context:
                    cluster: kvmesh
                    user: admin
                    namespace: default
                current-context: kvmesh
                """.formatted(url(), caData, token());
        return Files.writeString(directory.resolve("kubeconfig"), text, StandardCharsets.UTF_8);
    }

    private SSLContext trustingCa() {
        try (InputStream pem = Files.newInputStream(credentials.caCertificate())) {
            KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
            trusted.load(null, null);
            trusted.setCertificateEntry("kvmesh-ca", CertificateFactory.getInstance("X.509").generateCertificate(pem));
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(trusted);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            return context;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot trust the server's CA " + credentials.caCertificate(), e);
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

    private static String readAll(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
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
