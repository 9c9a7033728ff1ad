package io.kvmesh.operator.testing;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import io.kvmesh.kube.apiserver.KubeApiServer;
import io.kvmesh.kube.apiserver.KubectlResult;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * Gives an operator {@code @QuarkusTest} a real kube-apiserver (with the controller manager, so Deployments get
 * ReplicaSets and deleting a pool garbage-collects its objects) with the CRD installed from {@code crds/} by
 * {@code kubectl apply}, as a user would. The kubeconfig's path is in {@link #KUBECONFIG} for tests that run kubectl.
 */
public final class KubeApiServerTestResource implements QuarkusTestResourceLifecycleManager {

    /** System property: the server's kubeconfig file. */
    public static final String KUBECONFIG = "kvmesh.test.kubeconfig";
    public static final Path CRD = Path.of("..", "crds", "inferencepools.kvmesh.io-v1.yml");

    private static KubeApiServer server;

    public static KubeApiServer server() {
        return server;
    }

    @Override
    public Map<String, String> start() {
        server = KubeApiServer.builder().controllerManager(true).start();
        KubectlResult crd = server.kubectl("apply", "-f", CRD.toAbsolutePath().normalize().toString());
        if (crd.exitCode() != 0) {
            throw new IllegalStateException("kubectl apply of the CRD failed: " + crd.output());
        }
        KubectlResult established = server.kubectl("wait", "--for=condition=Established", "--timeout=30s",
                "crd/inferencepools.kvmesh.io");
        if (established.exitCode() != 0) {
            throw new IllegalStateException("the CRD was not established: " + established.output());
        }
        System.setProperty(KUBECONFIG, server.kubeconfig().toString());
        Map<String, String> config = new HashMap<>();
        config.put("quarkus.kubernetes-client.api-server-url", server.url());
        config.put("quarkus.kubernetes-client.token", server.token());
        config.put("quarkus.kubernetes-client.ca-cert-file", server.caCertificate().toString());
        config.put("quarkus.kubernetes-client.namespace", "default");
        config.put("kvmesh.operator.lease-namespace", "default");
        return config;
    }

    @Override
    public void stop() {
        if (server != null) {
            server.close();
            server = null;
        }
    }
}
