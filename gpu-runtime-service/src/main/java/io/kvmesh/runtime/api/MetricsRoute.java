package io.kvmesh.runtime.api;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.kvmesh.runtime.app.RuntimePod;
import io.kvmesh.runtime.engine.EngineStats;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.vertx.ext.web.Router;

/**
 * {@code GET /metrics} in Prometheus text format with vLLM's metric names, so dashboards and endpoint pickers built
 * for vLLM read kvmesh pods unchanged. Values come from the engine's last {@link EngineStats}.
 */
@ApplicationScoped
public class MetricsRoute {

    private final RuntimePod pod;
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final PrometheusTextFormatWriter writer = new PrometheusTextFormatWriter(false);

    MetricsRoute(RuntimePod pod) {
        this.pod = pod;
    }

    void install(@Observes Router router) {
        gauge("vllm:num_requests_running", "Requests running on the engine.", s -> s.running());
        gauge("vllm:num_requests_waiting", "Requests waiting to run.", s -> s.waiting());
        gauge("vllm:kv_cache_usage_perc", "KV-cache usage: 1 means 100 percent.", EngineStats::kvUsage);
        counter("vllm:prefix_cache_queries", "Prompt tokens looked up in the prefix cache.", s -> s.prefixQueryTokens());
        counter("vllm:prefix_cache_hits", "Prompt tokens found in the prefix cache.", s -> s.prefixHitTokens());
        counter("vllm:prompt_tokens", "Prompt tokens received.", s -> s.promptTokens());
        counter("vllm:generation_tokens", "Tokens generated.", s -> s.generatedTokens());
        counter("vllm:request_success", "Requests finished.", s -> s.finishedRequests());
        counter("vllm:num_preemptions", "Sequences preempted because KV blocks ran out.", s -> s.preemptions());
        router.get("/metrics").handler(ctx -> ctx.response()
                .putHeader("content-type", PrometheusTextFormatWriter.CONTENT_TYPE)
                .end(scrape()));
    }

    private String scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            writer.write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    private void gauge(String name, String help, java.util.function.ToDoubleFunction<EngineStats> value) {
        GaugeWithCallback.builder().name(name).help(help).labelNames("model_name")
                .callback(callback -> callback.call(value.applyAsDouble(pod.engine().stats()), pod.modelId()))
                .register(registry);
    }

    private void counter(String name, String help, java.util.function.ToDoubleFunction<EngineStats> value) {
        CounterWithCallback.builder().name(name).help(help).labelNames("model_name")
                .callback(callback -> callback.call(value.applyAsDouble(pod.engine().stats()), pod.modelId()))
                .register(registry);
    }
}
