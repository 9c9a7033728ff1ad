package io.kvmesh.e2e.local;

import java.io.IOException;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Listening ports for the mesh's processes, chosen below Linux's ephemeral range (32768–60999). A port from
 * {@code new ServerSocket(0)} comes from that range, and in the seconds before the child process binds it, any outgoing
 * connection on the machine (a Kafka client, the load generator) may be given the same port as its local end: the pod
 * then fails with "port in use" (seen in a mesh benchmark). Ports below the range are only ever taken by listeners.
 * Each port is handed out once per JVM and only if it binds now; the scan starts at a random port so that meshes run
 * side by side rarely probe the same ones.
 */
final class LoopbackPorts {

    private static final int FIRST = 20_000;
    private static final int LAST = 32_000;
    private static final Set<Integer> GIVEN = new HashSet<>();

    private LoopbackPorts() {
    }

    static synchronized int next() {
        int span = LAST - FIRST;
        int start = ThreadLocalRandom.current().nextInt(span);
        for (int i = 0; i < span; i++) {
            int port = FIRST + (start + i) % span;
            if (!GIVEN.contains(port) && bindable(port)) {
                GIVEN.add(port);
                return port;
            }
        }
        throw new IllegalStateException("no free loopback port in " + FIRST + "–" + LAST);
    }

    private static boolean bindable(int port) {
        // Bind the wildcard address as Quarkus does, so a port some process holds on any interface is skipped.
        try (ServerSocket socket = new ServerSocket(port, 1)) {
            return socket.getLocalPort() == port;
        } catch (IOException e) {
            return false;
        }
    }
}
