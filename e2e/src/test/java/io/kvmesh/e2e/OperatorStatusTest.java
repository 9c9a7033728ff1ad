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
        Path root = E2eRuns.root();
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
            // Two clients back to back, each request decoding 16 tokens (~20 ms): a heartbeat usually sees one running,
            // so its KV usage (blocks held by running requests, as vLLM counts it) is above zero.
            Runnable client = () -> {
                for (int i = 0; sending.get(); i++) {
                    String body = "{\"model\":\"kvmesh-sim\",\"prompt\":\"" + PREFIX + " question " + i + "\",\"max_tokens\":16}";
                    try {
                        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(mesh.routerUrl() + "/v1/completions"))
                                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                                HttpResponse.BodyHandlers.ofString());
                        if (response.statusCode() == 200) {
                            answered.incrementAndGet();
                        }
                    } catch (Exception e) {
                        return;
                    }
                }
            };
            Thread traffic = Thread.ofPlatform().daemon().start(client);
            Thread moreTraffic = Thread.ofPlatform().daemon().start(client);
            try {
                // Each figure is a reading at one heartbeat: keep the highest seen of each while traffic flows.
                double hitRate = 0;
                double kvUsage = 0;
                double requests = 0;
                JsonNode metrics = null;
                long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
                while (System.nanoTime() < deadline && (hitRate == 0 || kvUsage == 0 || requests == 0)) {
                    KubectlResult pool = kube.kubectl("get", "kvpool", "mesh", "-n", "e2e", "-o", "json");
                    metrics = JSON.readTree(pool.stdout()).path("status").path("metrics");
                    if (!metrics.isMissingNode()) {
                        assertThat(metrics.path("prefixHitRate").asDouble()).as("%s", metrics).isBetween(0.0, 1.0);
                        assertThat(metrics.path("kvCacheUsage").asDouble()).as("%s", metrics).isBetween(0.0, 1.0);
                        assertThat(metrics.path("updatedAt").asText()).isNotEmpty();
                        hitRate = Math.max(hitRate, metrics.path("prefixHitRate").asDouble());
                        kvUsage = Math.max(kvUsage, metrics.path("kvCacheUsage").asDouble());
                        requests = Math.max(requests, metrics.path("requestsPerSecond").asDouble());
                    }
                    Thread.sleep(1_000);
                }
                assertThat(answered.get()).as("requests answered by the mesh").isPositive();
                assertThat(hitRate).as("highest hit rate in status.metrics (last: %s)", metrics).isGreaterThan(0);
                assertThat(kvUsage).as("highest KV usage in status.metrics (last: %s)", metrics).isGreaterThan(0);
                assertThat(requests).as("highest requests/s in status.metrics (last: %s)", metrics).isGreaterThan(0);

                KubectlResult table = kube.kubectl("get", "kvpool", "-n", "e2e");
                System.out.println("kubectl get kvpool -n e2e\n" + table.stdout());
                String row = table.stdout().lines().filter(l -> l.startsWith("mesh ")).findFirst().orElseThrow();
                String[] columns = row.trim().split("\\s+");
                // NAME PODS READY POLICY HIT-RATE KV-USAGE AGE: both figures are printed (KV usage may read 0 between requests).
                assertThat(columns).hasSize(7);
                assertThat(Double.parseDouble(columns[4])).isBetween(0.0, 1.0);
                assertThat(Double.parseDouble(columns[5])).isBetween(0.0, 1.0);
            } finally {
                sending.set(false);
                traffic.join(10_000);
                moreTraffic.join(10_000);
            }
        }
    }
}
