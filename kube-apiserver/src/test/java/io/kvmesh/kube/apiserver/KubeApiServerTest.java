package io.kvmesh.kube.apiserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/** The launcher itself: start, serve, close; no process outlives its JVM; a clear message without binaries. */
class KubeApiServerTest {

    @Test
    void servesUntilClosedThenLeavesNothingBehind() {
        KubeApiServer server = KubeApiServer.start();
        List<Long> pids = server.pids();
        Path directory = server.directory();
        try {
            assertThat(pids).hasSize(2);
            assertThat(server.url()).startsWith("https://127.0.0.1:");
            assertThat(server.kubectl("get", "--raw", "/readyz").orThrow()).isEqualTo("ok");
            assertThat(server.kubectl("get", "namespaces", "-o", "name").orThrow()).contains("namespace/default");
            assertThat(server.kubectl("get", "--raw", "/version").orThrow()).contains("\"gitVersion\": \"v1.20.2");
            assertThat(server.kubeconfig()).content().contains(server.url(), server.token());
        } finally {
            server.close();
        }
        assertThat(pids).allSatisfy(pid -> assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
                .as("process %d", pid).isFalse());
        assertThat(directory).doesNotExist();
    }

    @Test
    void theProcessesStopWhenTheirJvmDies() throws Exception {
        // A launcher JVM starts a server, prints its pids and directory, then is killed with SIGKILL: no shutdown
        // hook runs, so only the watchdog can stop etcd and the API server.
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process launcher = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), OrphanLauncher.class.getName())
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        List<Long> pids;
        Path directory;
        try (var out = new BufferedReader(new InputStreamReader(launcher.getInputStream(), StandardCharsets.UTF_8))) {
            String line = out.readLine();
            assertThat(line).as("the launcher's first line").isNotNull();
            pids = Arrays.stream(line.trim().split(",")).map(Long::parseLong).toList();
            directory = Path.of(out.readLine().trim());
            assertThat(pids).hasSize(2).allSatisfy(pid -> assertThat(ProcessHandle.of(pid)).isPresent());
            launcher.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
        for (long pid : pids) {
            ProcessHandle process = ProcessHandle.of(pid).orElse(null);
            if (process != null) {
                process.onExit().get(30, TimeUnit.SECONDS);
            }
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (Files.exists(directory) && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertThat(directory).doesNotExist();
    }

    /** Runs in a child JVM for {@link #theProcessesStopWhenTheirJvmDies()}. */
    public static final class OrphanLauncher {
        public static void main(String[] args) throws Exception {
            KubeApiServer server = KubeApiServer.start();
            System.out.println(server.pids().stream().map(String::valueOf).reduce((a, b) -> a + "," + b).orElseThrow());
            System.out.println(server.directory());
            System.out.flush();
            Thread.sleep(Duration.ofMinutes(5));
        }
    }

    @Test
    void withoutBinariesStartNamesTheBuildScript() {
        String before = System.getProperty("io.kvmesh.kube.bin");
        System.setProperty("io.kvmesh.kube.bin", "/nonexistent/k8s");
        try {
            assertThatThrownBy(KubeApiServer::start)
                    .hasMessageContaining("kube-apiserver 1.20.2 in /nonexistent/k8s")
                    .hasMessageContaining("kube-apiserver/build-kube.sh");
        } finally {
            if (before == null) {
                System.clearProperty("io.kvmesh.kube.bin");
            } else {
                System.setProperty("io.kvmesh.kube.bin", before);
            }
        }
    }
}
