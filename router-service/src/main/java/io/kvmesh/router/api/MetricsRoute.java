package io.kvmesh.router.api;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.function.ToLongFunction;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.kvmesh.router.app.RouterState;
import io.kvmesh.router.routing.DecisionReason;
import io.kvmesh.router.routing.SpeculativeEntries;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.vertx.ext.web.Router;

/**
 * {@code GET /metrics} in Prometheus text format: routing decisions by policy and reason, speculative entries, pods.
 * Values are read from the router's state at scrape time.
 */
@ApplicationScoped
public class MetricsRoute {

    private final RouterState state;
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final PrometheusTextFormatWriter writer = new PrometheusTextFormatWriter(false);
    private final RouterOverhead overhead = new RouterOverhead();

    MetricsRoute(RouterState state) {
        this.state = state;
        registry.register(overhead.overhead);
        registry.register(overhead.decision);
        registry.register(overhead.dispatch);
        registry.register(overhead.relay);
    }

    RouterOverhead overhead() {
        return overhead;
    }

    void install(@Observes Router router) {
        CounterWithCallback.builder().name("kvmesh_router_decisions")
                .help("Requests routed, by policy and by why the chosen pod came first.")
                .labelNames("policy", "reason")
                .callback(callback -> {
                    for (DecisionReason reason : DecisionReason.values()) {
                        callback.call(state.decisions().get(reason), state.policy(), reason.label());
                    }
                })
                .register(registry);
        speculative("kvmesh_router_speculative_entries_inserted", "Speculative index entries inserted.", SpeculativeEntries.Counts::inserted);
        speculative("kvmesh_router_speculative_entries_confirmed", "Speculative entries confirmed by the pod's KV events.", SpeculativeEntries.Counts::confirmed);
        speculative("kvmesh_router_speculative_entries_expired", "Speculative entries expired unconfirmed.", SpeculativeEntries.Counts::expired);
        GaugeWithCallback.builder().name("kvmesh_router_speculative_entries")
                .help("Speculative entries held now.")
                .callback(callback -> callback.call(state.speculative().counts().held()))
                .register(registry);
        CounterWithCallback.builder().name("kvmesh_router_upstream_failures")
                .help("Pods that failed a request: before answering (retried on the next pod) or mid-answer (error sent).")
                .labelNames("stage")
                .callback(callback -> {
                    callback.call(state.upstreamFailures().beforeAnswer().sum(), "before-answer");
                    callback.call(state.upstreamFailures().midAnswer().sum(), "mid-answer");
                })
                .register(registry);
        CounterWithCallback.builder().name("kvmesh_router_prefix_groups")
                .help("Requests in BatchLLM prefix groups: leaders (sent at once) and followers (sent after the shared prefix was cached).")
                .labelNames("role")
                .callback(callback -> {
                    callback.call(state.groups().leaders(), "leader");
                    callback.call(state.groups().followers(), "follower");
                })
                .register(registry);
        GaugeWithCallback.builder().name("kvmesh_router_pods")
                .help("Live pods (with a recent heartbeat), by readiness.")
                .labelNames("ready")
                .callback(callback -> {
                    long ready = state.pods().live().stream().filter(p -> p.ready()).count();
                    callback.call(ready, "true");
                    callback.call(state.pods().live().size() - ready, "false");
                })
                .register(registry);
        router.get("/metrics").handler(ctx -> ctx.response()
                .putHeader("content-type", PrometheusTextFormatWriter.CONTENT_TYPE)
                .end(scrape()));
    }

    private void speculative(String name, String help, ToLongFunction<SpeculativeEntries.Counts> value) {
        CounterWithCallback.builder().name(name).help(help)
                .callback(callback -> callback.call(value.applyAsLong(state.speculative().counts())))
                .register(registry);
    }

    private String scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            writer.write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
