package io.kvmesh.bench;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The mesh benchmark's client: streaming completions through a router, one virtual thread per request, each timed to
 * its first streamed event (TTFT) and to {@code [DONE]} (E2E), with the pod's usage and the router's prediction.
 * Open-loop: a request is sent at its scheduled time whatever the earlier ones are doing, unless {@link #MAX_IN_FLIGHT}
 * are open (then it is counted as not sent: the bound keeps an overloaded policy from drowning the machine).
 */
final class MeshLoad implements AutoCloseable {

    static final int MAX_IN_FLIGHT = 256;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One answered (or failed) request. {@code group} is the workload's prefix group or conversation, -1 for none. */
    record Outcome(int group, long sentNanos, long firstEventNanos, long doneNanos, int promptTokens, int cachedTokens,
                   int predictedCachedTokens, int completionTokens, String pod, String reason, String text, String error) {

        boolean ok() {
            return error == null;
        }

        long ttftNanos() {
            return firstEventNanos - sentNanos;
        }

        long e2eNanos() {
            return doneNanos - sentNanos;
        }
    }

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).executor(Executors.newVirtualThreadPerTaskExecutor()).build();
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
    private final AtomicInteger inFlight = new AtomicInteger();

    /** A scheduled request: when (from the step's start) and what. */
    record Planned(long atNanos, int group, String prompt) {
    }

    /**
     * Sends every planned request at its time (open loop) to one of {@code baseUrls} in turn (as a Service spreads
     * connections over router replicas), waits up to {@code drain} for the last ones, and returns their outcomes
     * (failed ones included) plus the count not sent.
     */
    Step run(List<String> baseUrls, String model, String salt, int maxTokens, List<Planned> plan, Duration drain) throws InterruptedException {
        List<Outcome> outcomes = Collections.synchronizedList(new ArrayList<>());
        int notSent = 0;
        long start = System.nanoTime();
        List<Future<?>> futures = new ArrayList<>();
        int next = 0;
        for (Planned planned : plan) {
            String baseUrl = baseUrls.get(next++ % baseUrls.size());
            LockSupport.parkNanos(start + planned.atNanos() - System.nanoTime());
            if (inFlight.get() >= MAX_IN_FLIGHT) {
                notSent++;
                continue;
            }
            inFlight.incrementAndGet();
            futures.add(threads.submit(() -> {
                try {
                    outcomes.add(send(baseUrl, model, salt, maxTokens, planned.group(), planned.prompt()));
                } finally {
                    inFlight.decrementAndGet();
                }
            }));
        }
        long deadline = System.nanoTime() + drain.toNanos();
        for (Future<?> future : futures) {
            try {
                future.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (ExecutionException | TimeoutException e) {
                future.cancel(true);
            }
        }
        return new Step(List.copyOf(outcomes), notSent, futures.size() - outcomes.size(), start);
    }

    /** A step's outcomes; {@code unfinished} requests were still open when the drain ended. */
    record Step(List<Outcome> outcomes, int notSent, int unfinished, long startNanos) {
    }

    /** One streaming completion, blocking the calling (virtual) thread until it ends. */
    Outcome send(String baseUrl, String model, String salt, int maxTokens, int group, String prompt) {
        return send(baseUrl, model, salt, maxTokens, group, prompt, null, null);
    }

    /**
     * The same as a turn of an agentic session: {@code session} goes in {@code x-kvmesh-session}, and a non-null
     * {@code tool} declares that the turn ends in a call of that tool ({@code kvmesh_tool_call}), so the pod pauses the
     * session's KV under its LAMPS policy until the next turn.
     */
    Outcome send(String baseUrl, String model, String salt, int maxTokens, int group, String prompt, String session, String tool) {
        long sent = System.nanoTime();
        long first = -1;
        int promptTokens = 0;
        int cached = 0;
        int completion = 0;
        int predicted = -1;
        String pod = null;
        String reason = null;
        StringBuilder text = new StringBuilder();
        try {
            ObjectNode body = JSON.createObjectNode().put("model", model).put("prompt", prompt).put("max_tokens", maxTokens)
                    .put("temperature", 0).put("stream", true).put("cache_salt", salt);
            body.putObject("stream_options").put("include_usage", true);
            if (tool != null) {
                body.put("kvmesh_tool_call", tool);
            }
            HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(baseUrl + "/v1/completions")).timeout(Duration.ofSeconds(120))
                    .header("Content-Type", "application/json");
            if (session != null) {
                builder.header("x-kvmesh-session", session);
            }
            HttpRequest request = builder.POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build();
            HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            pod = response.headers().firstValue("x-kvmesh-pod").orElse(null);
            predicted = response.headers().firstValue("x-kvmesh-predicted-cached-tokens").map(Integer::parseInt).orElse(-1);
            reason = response.headers().firstValue("x-kvmesh-routing-reason").orElse(null);
            if (response.statusCode() != 200) {
                String error = new String(response.body().readAllBytes(), StandardCharsets.UTF_8);
                return failed(group, sent, "status " + response.statusCode() + ": " + error);
            }
            boolean done = false;
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = lines.readLine()) != null) {
                    if (!line.startsWith("data:")) {
                        continue;
                    }
                    String data = line.substring(5).trim();
                    if (data.equals("[DONE]")) {
                        done = true;
                        break;
                    }
                    JsonNode event = JSON.readTree(data);
                    if (event.has("error")) {
                        return failed(group, sent, "error event: " + event.get("error"));
                    }
                    JsonNode choices = event.path("choices");
                    if (choices.size() > 0) {
                        if (first < 0) {
                            first = System.nanoTime();
                        }
                        text.append(choices.get(0).path("text").asText(""));
                    }
                    JsonNode usage = event.path("usage");
                    if (usage.isObject()) {
                        promptTokens = usage.path("prompt_tokens").asInt();
                        completion = usage.path("completion_tokens").asInt();
                        cached = usage.path("prompt_tokens_details").path("cached_tokens").asInt();
                    }
                }
            }
            if (!done) {
                return failed(group, sent, "stream ended without [DONE]");
            }
            long end = System.nanoTime();
            return new Outcome(group, sent, first < 0 ? end : first, end, promptTokens, cached, Math.max(0, predicted), completion,
                    pod, reason, text.toString(), null);
        } catch (Exception e) {
            return failed(group, sent, e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    private static Outcome failed(int group, long sent, String error) {
        long now = System.nanoTime();
        return new Outcome(group, sent, now, now, 0, 0, 0, 0, null, null, "", error);
    }

    @Override
    public void close() {
        threads.shutdownNow();
        http.close();
    }
}
