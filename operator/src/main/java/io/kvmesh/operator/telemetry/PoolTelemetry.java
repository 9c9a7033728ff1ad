package io.kvmesh.operator.telemetry;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.kvmesh.prefix.events.PodStatus;

/**
 * What one pool's runtime pods report on {@code pod-status}, folded: the latest heartbeat per pod, a summary over the
 * live ones (the status's metrics and the printer columns) and a bounded history of summaries for the dashboard.
 * Plain Java, fed by {@link PodStatusWatcher}; thread-safe (one writer, readers from HTTP and the reconciler).
 */
public final class PoolTelemetry {

    /** One pool-wide reading. Rates add up over pods; the hit rate is weighted by pods, KV usage by blocks. */
    public record Summary(long ts, int livePods, int readyPods, int running, int waiting, double prefixHitRate,
                          double kvCacheUsage, double requestsPerSecond, double tokensPerSecond) {
    }

    private final long heartbeatTimeoutMillis;
    private final int historyLimit;
    private final Map<String, PodStatus> pods = new LinkedHashMap<>();
    private final ArrayDeque<Summary> history = new ArrayDeque<>();
    private volatile Map<String, Long> routingDecisions = Map.of();

    public PoolTelemetry(long heartbeatTimeoutMillis, int historyLimit) {
        this.heartbeatTimeoutMillis = heartbeatTimeoutMillis;
        this.historyLimit = historyLimit;
    }

    public synchronized void heartbeat(PodStatus status) {
        PodStatus previous = pods.get(status.podId());
        // A restarted pod's new epoch wins; an older epoch's late heartbeat does not.
        if (previous == null || status.epoch() > previous.epoch() || status.epoch() == previous.epoch() && status.ts() >= previous.ts()) {
            pods.put(status.podId(), status);
        }
    }

    /** A pod's clean shutdown (its tombstone on the compacted topic). */
    public synchronized void gone(String podId) {
        pods.remove(podId);
    }

    /** Live pods' latest heartbeats, by pod id. */
    public synchronized List<PodStatus> livePods(long now) {
        return pods.values().stream().filter(p -> now - p.ts() <= heartbeatTimeoutMillis)
                .sorted(Comparator.comparing(PodStatus::podId)).toList();
    }

    /** The summary over live pods now, empty when none is live. */
    public Optional<Summary> summary(long now) {
        List<PodStatus> live = livePods(now);
        if (live.isEmpty()) {
            return Optional.empty();
        }
        long used = 0;
        long total = 0;
        double hit = 0;
        double requests = 0;
        double tokens = 0;
        int ready = 0;
        int running = 0;
        int waiting = 0;
        for (PodStatus pod : live) {
            used += pod.deviceBlocks().used();
            total += pod.deviceBlocks().total();
            hit += pod.prefixHitRate();
            requests += pod.requestsPerSecond();
            tokens += pod.tokensPerSecond();
            ready += pod.ready() ? 1 : 0;
            running += pod.running();
            waiting += pod.waiting();
        }
        return Optional.of(new Summary(now, live.size(), ready, running, waiting, hit / live.size(),
                total == 0 ? 0 : (double) used / total, requests, tokens));
    }

    /** Appends the current summary to the history (oldest dropped beyond the limit); none when no pod is live. */
    public synchronized void sample(long now) {
        summary(now).ifPresent(summary -> {
            history.addLast(summary);
            while (history.size() > historyLimit) {
                history.removeFirst();
            }
        });
    }

    public synchronized List<Summary> history() {
        return new ArrayList<>(history);
    }

    /** The routers' decisions by reason (from their {@code /router/stats}), replaced on every scrape. */
    public void routingDecisions(Map<String, Long> decisions) {
        this.routingDecisions = Map.copyOf(decisions);
    }

    public Map<String, Long> routingDecisions() {
        return routingDecisions;
    }
}
