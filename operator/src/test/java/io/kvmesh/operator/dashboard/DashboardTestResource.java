package io.kvmesh.operator.dashboard;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import com.sun.net.httpserver.HttpServer;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * A stand-in for the dashboard tests' pools' routers, answering the {@code /router/stats} the operator scrapes for
 * the routing mix. It sets {@code kvmesh.operator.router-urls} for those two pools only, so the other operator tests,
 * which share this application, are not affected.
 */
public final class DashboardTestResource implements QuarkusTestResourceLifecycleManager {

    /** The pool the browser test creates and the one the API test creates, {@code namespace/name}. */
    static final String BROWSER_POOL = "dashboard-browser/llama-chat";
    static final String API_POOL = "dashboard-api/tiny";
    /** The routers' decisions by reason, as router-service's {@code /router/stats} reports them. */
    static final Map<String, Long> DECISIONS = Map.of("prefix", 640L, "short-match", 90L, "no-match", 210L,
            "load-imbalance", 60L);

    private HttpServer routers;

    @Override
    public Map<String, String> start() {
        try {
            routers = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        StringBuilder json = new StringBuilder("{\"policy\":\"prefix-aware\",\"decisions\":{");
        DECISIONS.forEach((reason, count) -> json.append('"').append(reason).append("\":").append(count).append(','));
        byte[] stats = json.replace(json.length() - 1, json.length(), "}}").toString().getBytes(StandardCharsets.UTF_8);
        routers.createContext("/router/stats", exchange -> {
            exchange.getResponseHeaders().add("content-type", "application/json");
            exchange.sendResponseHeaders(200, stats.length);
            exchange.getResponseBody().write(stats);
            exchange.close();
        });
        routers.start();
        String url = "http://127.0.0.1:" + routers.getAddress().getPort();
        return Map.of("kvmesh.operator.router-urls.\"" + BROWSER_POOL + "\"", url,
                "kvmesh.operator.router-urls.\"" + API_POOL + "\"", url);
    }

    @Override
    public void stop() {
        if (routers != null) {
            routers.stop(0);
        }
    }
}
