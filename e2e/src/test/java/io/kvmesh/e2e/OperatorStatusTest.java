package io.kvmesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.kvmesh.e2e.local.LocalMesh;
import io.kvmesh.kube.apiserver.KubeApiServer;
import io.kvmesh.kube.apiserver.KubectlResult;
import io.kvmesh.kube.apiserver.junit.KubeApiServerExtension;

/**
 * The operator's live metrics come from real runtime pods: a local mesh (real broker, two sim runtime processes, a
 * router, the cache index) serves traffic; the operator, as its own process against a real kube-apiserver, is given a
 * pool pointing at the mesh's Kafka and topics, and its status and {@code kubectl get kvpool} columns show the pods'
 * prefix hit rate, KV usage and request rate as the pods publish them on {@code pod-status}.
 */
@ExtendWith(KubeApiServerExtension.class)
class OperatorStatusTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PREFIX = "A long shared system prompt for the operator's status test, reused by every request. "
            .repeat(4).substring(0, 240);

    @Test
    void statusMetricsComeFromTheRuntimePodsHeartbeats(KubeApiServer kube) throws Exception {
        Path root = Path.of(System.getProperty("io.kvmesh.root", "..")).toAbsolutePath().normalize();
        KubectlResult crd = kube.kubectl("apply", "-f", root.resolve("crds/inferencepools.kvmesh.io-v1.yml").toString());
        assertThat(crd.exitCode()).as(crd.output()).isZero();
        assertThat(kube.kubectl("wait", "--for=condition=Established", "--timeout=30s", "crd/inferencepools.kvmesh.io").exitCode()).isZero();
        kube.kubectl("create", "namespace", "e2e");

        try (LocalMesh mesh = LocalMesh.start(LocalMesh.Options.defaults(root).withPods(2).withRouterPort(0)
                .withRunDirectory(Path.of("target/e2e-runs/operator").toAbsolutePath())
                .withSettings(Map.of("kvmesh.sim.prefill-micros-per-token", "50", "kvmesh.sim.decode-step-micros", "1000")), line -> { })) {
            mesh.startOperator(Map.of(
                    "quarkus.kubernetes-client.api-server-url", kube.url(),
                    "quarkus.kubernetes-client.token", kube.token(),
                    "quarkus.kubernetes-client.ca-cert-file", kube.caCertificate().toString(),
                    "quarkus.kubernetes-client.namespace", "default",
                    "kvmesh.operator.lease-namespace", "default",
                    "kvmesh.operator.router-urls.\"e2e/mesh\"", mesh.routerUrl()));
            KubectlResult applied = kube.kubectlWithInput("""
                    apiVersion: kvmesh.io/v1alpha1
                    kind: InferencePool
                    metadata:
                      name: mesh
                      namespace: e2e
                    spec:
                      model:
                        id: kvmesh-sim
                      replicas: 2
                      runtime:
                        backend: sim
                      kafka:
                        bootstrapServers: "%s"
                        topicPrefix: %s
                    """.formatted(mesh.broker().bootstrapServers(), mesh.topicPrefix()), "apply", "-f", "-");
            assertThat(applied.exitCode()).as(applied.output()).isZero();

            AtomicBoolean sending = new AtomicBoolean(true);
            AtomicInteger answered = new AtomicInteger();
            HttpClient http = HttpClient.newHttpClient();
            Thread traffic = Thread.ofPlatform().daemon().start(() -> {
                for (int i = 0; sending.get(); i++) {
                    String body = "{\"model\":\"kvmesh-sim\",\"prompt\":\"" + PREFIX + " question " + i + "\",\"max_tokens\":4}";
                    try {
                        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(mesh.routerUrl() + "/v1/completions"))
                                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                                HttpResponse.BodyHandlers.ofString());
                        if (response.statusCode() == 200) {
                            answered.incrementAndGet();
                        }
                        Thread.sleep(50);
                    } catch (Exception e) {
                        return;
                    }
                }
            });
            try {
                JsonNode metrics = null;
                long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
                while (System.nanoTime() < deadline) {
                    KubectlResult pool = kube.kubectl("get", "kvpool", "mesh", "-n", "e2e", "-o", "json");
                    JsonNode status = JSON.readTree(pool.stdout()).path("status");
                    metrics = status.path("metrics");
                    if (metrics.path("prefixHitRate").asDouble() > 0 && metrics.path("kvCacheUsage").asDouble() > 0
                            && metrics.path("requestsPerSecond").asDouble() > 0) {
                        break;
                    }
                    Thread.sleep(1_000);
                }
                assertThat(answered.get()).as("requests answered by the mesh").isPositive();
                assertThat(metrics).as("status.metrics").isNotNull();
                assertThat(metrics.path("prefixHitRate").asDouble()).as("hit rate: %s", metrics).isGreaterThan(0).isLessThanOrEqualTo(1);
                assertThat(metrics.path("kvCacheUsage").asDouble()).as("KV usage: %s", metrics).isGreaterThan(0).isLessThanOrEqualTo(1);
                assertThat(metrics.path("requestsPerSecond").asDouble()).as("requests/s: %s", metrics).isGreaterThan(0);
                assertThat(metrics.path("updatedAt").asText()).isNotEmpty();

                KubectlResult table = kube.kubectl("get", "kvpool", "-n", "e2e");
                System.out.println("kubectl get kvpool -n e2e\n" + table.stdout());
                String row = table.stdout().lines().filter(l -> l.startsWith("mesh ")).findFirst().orElseThrow();
                String[] columns = row.trim().split("\\s+");
                // NAME PODS READY POLICY HIT-RATE KV-USAGE AGE: the two figures are printed.
                assertThat(Double.parseDouble(columns[4])).isGreaterThan(0);
                assertThat(Double.parseDouble(columns[5])).isGreaterThan(0);
            } finally {
                sending.set(false);
                traffic.join(10_000);
            }
        }
    }
}
