package io.kvmesh.runtime.lamps;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Predicts how long a tool or API call will take from the durations observed for that tool (LAMPS: per API type,
 * from history): the median of the last {@code window} observations, robust to the long tail a mean would follow;
 * a tool with none yet gets its configured default, else the global default. Thread-safe.
 */
public final class CallDurationPredictor {

    private final int window;
    private final double defaultSeconds;
    private final Map<String, Double> configured;
    private final Map<String, ArrayDeque<Double>> observed = new HashMap<>();

    public CallDurationPredictor(int window, double defaultSeconds, Map<String, Double> configuredSeconds) {
        if (window < 1 || !(defaultSeconds >= 0)) {
            throw new IllegalArgumentException("window must be >= 1 and the default >= 0");
        }
        this.window = window;
        this.defaultSeconds = defaultSeconds;
        this.configured = Map.copyOf(configuredSeconds);
    }

    public synchronized double predictSeconds(String tool) {
        ArrayDeque<Double> history = observed.get(tool);
        if (history == null || history.isEmpty()) {
            return configured.getOrDefault(tool, defaultSeconds);
        }
        double[] sorted = history.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** A call of {@code tool} that took {@code seconds}; the oldest observation goes beyond the window. */
    public synchronized void observe(String tool, double seconds) {
        if (!(seconds >= 0) || Double.isInfinite(seconds)) {
            return;
        }
        ArrayDeque<Double> history = observed.computeIfAbsent(tool, t -> new ArrayDeque<>(window));
        if (history.size() == window) {
            history.removeFirst();
        }
        history.addLast(seconds);
    }

    /** Observations held per tool (for the pod status and tests). */
    public synchronized Map<String, Integer> counts() {
        Map<String, Integer> counts = new HashMap<>();
        observed.forEach((tool, history) -> counts.put(tool, history.size()));
        return counts;
    }

    @Override
    public synchronized String toString() {
        return "CallDurationPredictor" + Arrays.toString(observed.keySet().toArray());
    }
}
