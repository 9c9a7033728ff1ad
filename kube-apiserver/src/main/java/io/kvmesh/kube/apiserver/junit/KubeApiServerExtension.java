package io.kvmesh.kube.apiserver.junit;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

import io.kvmesh.kube.apiserver.KubeApiServer;

/**
 * Gives a test class a real Kubernetes API server: {@code @ExtendWith(KubeApiServerExtension.class)}, then take a
 * {@link KubeApiServer} parameter in a test, constructor or lifecycle method.
 *
 * <p>One server, with the controller manager, serves every test class of the JVM (starting one takes seconds); it is
 * stopped when the test run ends. The extension also sets the system property {@value #KUBECONFIG_PROPERTY} to its
 * kubeconfig file, which the fabric8 client reads, so a client built with defaults talks to it. Tests sharing it
 * should use namespaces or names of their own; a test that stops a server starts its own with
 * {@link KubeApiServer#start()}.
 */
public final class KubeApiServerExtension implements BeforeAllCallback, ParameterResolver {

    /** The system property that fabric8's {@code Config} reads a kubeconfig path from. */
    public static final String KUBECONFIG_PROPERTY = "kubeconfig";

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(KubeApiServerExtension.class);

    @Override
    public void beforeAll(ExtensionContext context) {
        server(context);
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == KubeApiServer.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        return server(context);
    }

    private static KubeApiServer server(ExtensionContext context) {
        SharedServer shared = context.getRoot().getStore(NAMESPACE).getOrComputeIfAbsent(SharedServer.class,
                type -> new SharedServer(KubeApiServer.builder().controllerManager(true).start()), SharedServer.class);
        System.setProperty(KUBECONFIG_PROPERTY, shared.server.kubeconfig().toString());
        return shared.server;
    }

    /** Closed by JUnit when the root context closes, at the end of the run. */
    private record SharedServer(KubeApiServer server) implements AutoCloseable {
        @Override
        public void close() {
            server.close();
        }
    }
}
