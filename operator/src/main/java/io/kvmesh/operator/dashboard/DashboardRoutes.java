package io.kvmesh.operator.dashboard;

import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.kvmesh.operator.crd.v1alpha1.InferencePool;
import io.kvmesh.operator.plan.PoolPlanner;
import io.kvmesh.operator.telemetry.TelemetryRegistry;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * The dashboard's JSON API and its entry points. {@code GET /api/pools}: every InferencePool in every namespace as a
 * {@link PoolView}; {@code GET /api/pools/NAMESPACE/NAME}: one. Any other {@code /api/} path is a JSON 404, and a
 * failure is a JSON error naming what failed, never a stack trace. {@code /} and {@code /dashboard} redirect to the
 * page, which is static ({@code META-INF/resources/dashboard/}) and reads this API.
 */
@ApplicationScoped
public class DashboardRoutes {

    /** The {@code /api/pools} answer. */
    public record Pools(String generatedAt, List<PoolView> pools) {
    }

    private static final Logger LOG = Logger.getLogger(DashboardRoutes.class);
    /** A Kubernetes object name or namespace (DNS subdomain): anything else cannot name a pool. */
    private static final Pattern KUBERNETES_NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");
    private static final String PAGE = "/dashboard/";

    private final KubernetesClient client;
    private final TelemetryRegistry telemetry;
    private final PoolPlanner planner;
    private final ObjectMapper json;

    DashboardRoutes(KubernetesClient client, TelemetryRegistry telemetry, PoolPlanner planner, ObjectMapper json) {
        this.client = client;
        this.telemetry = telemetry;
        this.planner = planner;
        this.json = json;
    }

    void install(@Observes Router router) {
        // A regex: a path route "/dashboard" would also match "/dashboard/" and redirect the page to itself.
        router.getWithRegex("/|/dashboard").handler(ctx -> redirect(ctx, PAGE));
        router.get("/api/pools").blockingHandler(this::listPools, false);
        router.get("/api/pools/:namespace/:name").blockingHandler(this::getPool, false);
        router.route("/api/*").handler(ctx -> sendError(ctx, 404, "not_found", "No API at " + ctx.request().method()
                + " " + ctx.request().path() + ": the dashboard's API is GET /api/pools and GET /api/pools/{namespace}/{name}."));
        router.route("/api/*").failureHandler(this::failed);
    }

    private void listPools(RoutingContext ctx) {
        long now = System.currentTimeMillis();
        List<PoolView> views = client.resources(InferencePool.class).inAnyNamespace().list().getItems().stream()
                .sorted(Comparator.comparing((InferencePool p) -> p.getMetadata().getNamespace())
                        .thenComparing(p -> p.getMetadata().getName()))
                .map(pool -> view(pool, now))
                .toList();
        send(ctx, 200, new Pools(Instant.ofEpochMilli(now).toString(), views));
    }

    private void getPool(RoutingContext ctx) {
        String namespace = ctx.pathParam("namespace");
        String name = ctx.pathParam("name");
        if (!KUBERNETES_NAME.matcher(namespace).matches() || !KUBERNETES_NAME.matcher(name).matches()) {
            sendError(ctx, 400, "invalid_request", "'" + namespace + "/" + name + "' is not a namespace and name: "
                    + "both are lowercase letters, digits, '-' and '.', starting and ending with a letter or digit.");
            return;
        }
        InferencePool pool = client.resources(InferencePool.class).inNamespace(namespace).withName(name).get();
        if (pool == null) {
            sendError(ctx, 404, "not_found", "No InferencePool " + name + " in namespace " + namespace + ".");
            return;
        }
        send(ctx, 200, view(pool, System.currentTimeMillis()));
    }

    private PoolView view(InferencePool pool, long now) {
        String key = Cache.metaNamespaceKeyFunc(pool);
        // Every replica follows the pools it shows: a standby (not reconciling) serves live data too.
        telemetry.watch(key, planner.topics(pool), planner.routerUrl(pool));
        return PoolView.of(pool, telemetry.telemetry(key), telemetry.problem(key).orElse(null),
                telemetry.heartbeatTimeoutMillis(), now);
    }

    private void failed(RoutingContext ctx) {
        Throwable failure = ctx.failure();
        if (failure instanceof KubernetesClientException e) {
            LOG.warnf("%s %s: Kubernetes API: %s", ctx.request().method(), ctx.request().path(), e.getMessage());
            sendError(ctx, 503, "kubernetes_unavailable", "The Kubernetes API did not answer: " + e.getMessage());
        } else if (failure == null && ctx.statusCode() >= 400 && ctx.statusCode() < 500) {
            sendError(ctx, ctx.statusCode(), "invalid_request", "The request could not be read.");
        } else {
            LOG.error(ctx.request().method() + " " + ctx.request().path() + " failed", failure);
            sendError(ctx, 500, "server_error", "The operator failed to answer: "
                    + (failure == null ? "status " + ctx.statusCode() : failure.getClass().getSimpleName())
                    + "; its log has the details.");
        }
    }

    private void send(RoutingContext ctx, int status, Object body) {
        String text;
        try {
            text = json.writeValueAsString(body);
        } catch (JsonProcessingException e) {
            ctx.fail(e);
            return;
        }
        ctx.response().setStatusCode(status).putHeader("content-type", "application/json")
                .putHeader("cache-control", "no-store").end(text);
    }

    private void sendError(RoutingContext ctx, int status, String type, String message) {
        if (ctx.response().headWritten()) {
            ctx.response().reset();
            return;
        }
        ObjectNode body = json.createObjectNode();
        ObjectNode error = body.putObject("error");
        error.put("message", message);
        error.put("type", type);
        send(ctx, status, body);
    }

    private static void redirect(RoutingContext ctx, String location) {
        ctx.response().setStatusCode(302).putHeader("location", location).end();
    }
}
