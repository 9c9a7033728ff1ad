package io.kvmesh.operator.telemetry;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.kvmesh.operator.plan.TopicsPlan;
import io.kvmesh.prefix.events.PoolTopics;

/**
 * Every pool's {@link PoolTelemetry}, kept current by a {@link PodStatusWatcher} per pool (replaced when the pool's
 * Kafka or topic prefix changes) and, every few seconds, a history sample and a scrape of the pool's routers'
 * {@code /router/stats} for the routing mix. Pools are keyed {@code namespace/name}.
 */
@ApplicationScoped
public class TelemetryRegistry {

    private static final Logger LOG = Logger.getLogger(TelemetryRegistry.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Watched(TopicsPlan topics, PodStatusWatcher watcher, PoolTelemetry telemetry, String routerUrl) {
    }

    private final Map<String, Watched> pools = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("kvmesh-telemetry").daemon().factory());
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final long heartbeatTimeoutMillis;
    private final Map<String, String> routerUrlOverrides;

    TelemetryRegistry(@ConfigProperty(name = "kvmesh.operator.heartbeat-timeout", defaultValue = "5s") Duration heartbeatTimeout,
                      @ConfigProperty(name = "kvmesh.operator.sample-interval", defaultValue = "2s") Duration sampleInterval,
                      @ConfigProperty(name = "kvmesh.operator.router-urls") Optional<Map<String, String>> routerUrls) {
        this.heartbeatTimeoutMillis = heartbeatTimeout.toMillis();
        this.routerUrlOverrides = routerUrls.orElse(Map.of());
        timer.scheduleAtFixedRate(this::tick, sampleInterval.toMillis(), sampleInterval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Follows the pool's {@code pod-status} (again, if its topics moved). {@code routerUrl} is where its routers answer
     * ({@code kvmesh.operator.router-urls."NAMESPACE/NAME"} overrides it, for an operator outside the cluster).
     */
    public PoolTelemetry watch(String pool, TopicsPlan topics, String routerUrl) {
        Watched current = pools.compute(pool, (key, existing) -> {
            String url = routerUrlOverrides.getOrDefault(key, routerUrl);
            if (existing != null && existing.topics().bootstrapServers().equals(topics.bootstrapServers())
                    && existing.topics().prefix().equals(topics.prefix())) {
                return existing.routerUrl().equals(url) ? existing : new Watched(topics, existing.watcher(), existing.telemetry(), url);
            }
            if (existing != null) {
                existing.watcher().close();
            }
            PoolTelemetry telemetry = existing != null ? existing.telemetry() : new PoolTelemetry(heartbeatTimeoutMillis, 900);
            String topic = new PoolTopics(topics.prefix()).podStatus();
            LOG.infof("pool %s: following %s at %s", key, topic, topics.bootstrapServers());
            return new Watched(topics, new PodStatusWatcher(topics.bootstrapServers(), topic, telemetry), telemetry, url);
        });
        return current.telemetry();
    }

    public Optional<PoolTelemetry> telemetry(String pool) {
        return Optional.ofNullable(pools.get(pool)).map(Watched::telemetry);
    }

    /** What reading the pool's pod-status last failed on, if it fails now. */
    public Optional<String> problem(String pool) {
        return Optional.ofNullable(pools.get(pool)).map(w -> w.watcher().lastError());
    }

    public void forget(String pool) {
        Watched gone = pools.remove(pool);
        if (gone != null) {
            gone.watcher().close();
        }
    }

    public long heartbeatTimeoutMillis() {
        return heartbeatTimeoutMillis;
    }

    private void tick() {
        long now = System.currentTimeMillis();
        for (Watched pool : pools.values()) {
            try {
                pool.telemetry().sample(now);
                pool.telemetry().routingDecisions(scrapeDecisions(pool.routerUrl()));
            } catch (RuntimeException e) {
                LOG.debugf("telemetry tick: %s", e.toString());
            }
        }
    }

    /** The router's decisions by reason; empty when it cannot be reached (outside the cluster, not started). */
    private Map<String, Long> scrapeDecisions(String routerUrl) {
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(routerUrl + "/router/stats"))
                    .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                return Map.of();
            }
            JsonNode decisions = JSON.readTree(response.body()).path("decisions");
            Map<String, Long> result = new LinkedHashMap<>();
            decisions.properties().forEach(e -> result.put(e.getKey(), e.getValue().asLong()));
            return result;
        } catch (Exception e) {
            return Map.of();
        }
    }

    @PreDestroy
    void close() {
        timer.shutdownNow();
        pools.values().forEach(w -> w.watcher().close());
        pools.clear();
    }
}
