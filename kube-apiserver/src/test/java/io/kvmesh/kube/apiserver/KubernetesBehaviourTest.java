package io.kvmesh.kube.apiserver;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.kvmesh.kube.apiserver.junit.KubeApiServerExtension;

/**
 * What a real API server does and a mock would not: schema validation and defaulting of custom resources,
 * server-side apply with field ownership, and (with the controller manager) Deployments rolled out into ReplicaSets
 * and garbage collection through owner references.
 */
@ExtendWith(KubeApiServerExtension.class)
class KubernetesBehaviourTest {

    private static final String WIDGET_CRD = """
            apiVersion: apiextensions.k8s.io/v1
            kind: CustomResourceDefinition
            metadata:
              name: widgets.test.kvmesh.io
            spec:
              group: test.kvmesh.io
              scope: Namespaced
              names: {plural: widgets, singular: widget, kind: Widget}
              versions:
              - name: v1alpha1
                served: true
                storage: true
                subresources: {status: {}}
                schema:
                  openAPIV3Schema:
                    type: object
                    properties:
                      spec:
                        type: object
                        required: [model]
                        properties:
                          model: {type: string}
                          replicas: {type: integer, minimum: 1, default: 1}
            """;

    private static final String DEPLOYMENT = """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: %1$s, namespace: default}
            spec:
              replicas: %2$d
              selector: {matchLabels: {app: %1$s}}
              template:
                metadata: {labels: {app: %1$s}}
                spec:
                  containers:
                  - name: web
                    image: example.invalid/web:1
                    ports: [{containerPort: 8080, protocol: TCP}]
            """;

    private final KubeApiServer server;

    KubernetesBehaviourTest(KubeApiServer server) {
        this.server = server;
    }

    @BeforeAll
    static void kubeconfigIsPublished(KubeApiServer server) {
        assertThat(System.getProperty(KubeApiServerExtension.KUBECONFIG_PROPERTY)).isEqualTo(server.kubeconfig().toString());
        assertThat(server.hasControllerManager()).isTrue();
    }

    @Test
    void customResourcesAreValidatedAndDefaultedByTheirSchema() {
        server.kubectlWithInput(WIDGET_CRD, "apply", "-f", "-").orThrow();
        server.kubectl("wait", "--for=condition=Established", "crd/widgets.test.kvmesh.io", "--timeout=60s").orThrow();

        server.kubectlWithInput(widget("good", "model: llama-3-8b"), "create", "-f", "-").orThrow();
        assertThat(server.kubectl("get", "widget", "good", "-o", "jsonpath={.spec.replicas}").orThrow()).isEqualTo("1");

        // --validate=false: kubectl would otherwise check the schema itself once the server publishes it (1.20 has
        // no server-side field validation for it to defer to), and this test is about what the server refuses.
        KubectlResult missing = server.kubectlWithInput(widget("no-model", "replicas: 2"), "create", "--validate=false", "-f", "-");
        assertThat(missing.exitCode()).isNotZero();
        assertThat(missing.stderr()).contains("spec.model", "Required value");

        KubectlResult tooFew = server.kubectlWithInput(widget("no-replicas", "model: m\n  replicas: 0"), "create", "--validate=false", "-f", "-");
        assertThat(tooFew.exitCode()).isNotZero();
        assertThat(tooFew.stderr()).contains("spec.replicas", "greater than or equal to 1");

        assertThat(server.kubectl("get", "widgets", "-o", "name").orThrow().strip()).isEqualTo("widget.test.kvmesh.io/good");
    }

    @Test
    void serverSideApplyDefaultsTracksOwnersAndRefusesConflicts() {
        String applied = server.kubectlWithInput(DEPLOYMENT.formatted("ssa-web", 2),
                "apply", "--server-side", "--field-manager=kvmesh-test", "-f", "-").orThrow();
        assertThat(applied).contains("serverside-applied");

        String stored = server.kubectl("get", "--raw", "/apis/apps/v1/namespaces/default/deployments/ssa-web").orThrow();
        assertThat(stored).contains("\"manager\":\"kvmesh-test\"", "\"operation\":\"Apply\"")
                .contains("\"type\":\"RollingUpdate\"", "\"revisionHistoryLimit\":10");

        KubectlResult conflict = server.kubectlWithInput(DEPLOYMENT.formatted("ssa-web", 3),
                "apply", "--server-side", "--field-manager=someone-else", "-f", "-");
        assertThat(conflict.exitCode()).isNotZero();
        assertThat(conflict.stderr()).contains("conflict", "kvmesh-test", ".spec.replicas");
        assertThat(server.kubectl("get", "deployment", "ssa-web", "-o", "jsonpath={.spec.replicas}").orThrow()).isEqualTo("2");
    }

    @Test
    void theControllerManagerRollsOutDeployments() {
        server.kubectlWithInput(DEPLOYMENT.formatted("rollout-web", 2), "apply", "-f", "-").orThrow();
        eventually(Duration.ofSeconds(30), "two pods of rollout-web", () -> server.kubectl("get", "pods",
                "-l", "app=rollout-web", "-o", "name").orThrow().lines().count() == 2);
        assertThat(server.kubectl("get", "replicasets", "-l", "app=rollout-web", "-o", "name").orThrow())
                .startsWith("replicaset.apps/rollout-web-");
    }

    @Test
    void deletingAnOwnerCollectsItsDependents() {
        server.kubectl("create", "configmap", "gc-owner", "--from-literal=role=owner").orThrow();
        String ownerUid = server.kubectl("get", "configmap", "gc-owner", "-o", "jsonpath={.metadata.uid}").orThrow();
        server.kubectlWithInput("""
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: gc-dependent
                  ownerReferences:
                  - {apiVersion: v1, kind: ConfigMap, name: gc-owner, uid: %s}
                data: {role: dependent}
                """.formatted(ownerUid), "apply", "-f", "-").orThrow();

        server.kubectl("delete", "configmap", "gc-owner", "--wait=false").orThrow();
        eventually(Duration.ofSeconds(30), "gc-dependent collected", () -> {
            KubectlResult get = server.kubectl("get", "configmap", "gc-dependent", "-o", "name");
            return !get.succeeded() && get.stderr().contains("NotFound");
        });
    }

    private static String widget(String name, String spec) {
        return """
                apiVersion: test.kvmesh.io/v1alpha1
                kind: Widget
                metadata: {name: %s}
                spec:
                  %s
                """.formatted(name, spec);
    }

    private static void eventually(Duration limit, String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + limit.toSeconds() + " s: " + what);
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for " + what, e);
            }
        }
    }
}
