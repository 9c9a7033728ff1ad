package io.kvmesh.runtime.api;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.kvmesh.runtime.app.RuntimePod;
import io.kvmesh.runtime.engine.EngineStats;
import io.kvmesh.runtime.engine.PauseStats;
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
        gauge("kvmesh_host_kv_cache_usage_perc", "Host-tier (swap) KV usage: 1 means 100 percent.",
                s -> s.hostTotalBlocks() == 0 ? 0 : (double) s.hostUsedBlocks() / s.hostTotalBlocks());
        counter("kvmesh_host_prefix_cache_hits", "Prompt tokens copied back from the host tier instead of recomputed.",
                s -> s.hostHitTokens());
        counter("kvmesh_prefix_holds", "Requests held back until blocks another request was computing were written, then reused.",
                s -> s.prefixHolds());
        pauseGauge("kvmesh_lamps_paused_sessions", "Sessions paused on a tool call, waiting for their next turn.", PauseStats::paused);
        pauseGauge("kvmesh_lamps_pinned_blocks", "Device KV blocks kept for paused sessions and their resuming turns.",
                PauseStats::pinnedDeviceBlocks);
        CounterWithCallback.builder().name("kvmesh_lamps_pause_decisions")
                .help("Pause decisions by choice (keep, swap, discard) under the pod's LAMPS policy.")
                .labelNames("model_name", "choice", "policy")
                .callback(callback -> {
                    PauseStats p = pod.engine().pauseStats();
                    String policy = pod.engine().decisions().policy().configName();
                    callback.call(p.kept(), pod.modelId(), "keep", policy);
                    callback.call(p.swapped(), pod.modelId(), "swap", policy);
                    callback.call(p.discarded(), pod.modelId(), "discard", policy);
                })
                .register(registry);
        pauseCounter("kvmesh_lamps_host_full_fallbacks", "Swaps that became discards because the host tier was full.",
                PauseStats::hostFullFallbacks);
        CounterWithCallback.builder().name("kvmesh_lamps_swapped_bytes")
                .help("KV bytes copied between the device and the host tier, by direction.")
                .labelNames("model_name", "direction")
                .callback(callback -> {
                    PauseStats p = pod.engine().pauseStats();
                    callback.call(p.blocksSwappedOut() * pod.kvBytesPerBlock(), pod.modelId(), "out");
                    callback.call(p.blocksSwappedIn() * pod.kvBytesPerBlock(), pod.modelId(), "in");
                })
                .register(registry);
        pauseCounter("kvmesh_lamps_recomputed_tokens", "Context tokens of resumed sessions that had to be recomputed.",
                PauseStats::recomputedTokens);
        pauseCounter("kvmesh_lamps_resumed", "Paused sessions whose next turn arrived.", PauseStats::resumed);
        pauseCounter("kvmesh_lamps_expired", "Paused sessions released after the pause timeout.", PauseStats::expired);
        pauseCounter("kvmesh_lamps_reclaimed", "Pauses whose pinned KV was released early because waiting requests needed the blocks.",
                PauseStats::reclaimed);
        pauseCounter("kvmesh_lamps_call_prediction_abs_error_seconds",
                "Sum over resumed sessions of |predicted - actual| call duration (divide by kvmesh_lamps_resumed_total).",
                PauseStats::predictionAbsErrorSecondsSum);
        pauseGauge("kvmesh_lamps_forward_seconds_per_token", "Profiled forward cost per token (refined online).",
                PauseStats::forwardSecondsPerToken);
        pauseGauge("kvmesh_lamps_swap_seconds_per_token", "Profiled host-tier copy cost per token (refined online).",
                PauseStats::swapSecondsPerToken);
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

    private void pauseGauge(String name, String help, java.util.function.ToDoubleFunction<PauseStats> value) {
        GaugeWithCallback.builder().name(name).help(help).labelNames("model_name")
                .callback(callback -> callback.call(value.applyAsDouble(pod.engine().pauseStats()), pod.modelId()))
                .register(registry);
    }

    private void pauseCounter(String name, String help, java.util.function.ToDoubleFunction<PauseStats> value) {
        CounterWithCallback.builder().name(name).help(help).labelNames("model_name")
                .callback(callback -> callback.call(value.applyAsDouble(pod.engine().pauseStats()), pod.modelId()))
                .register(registry);
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
