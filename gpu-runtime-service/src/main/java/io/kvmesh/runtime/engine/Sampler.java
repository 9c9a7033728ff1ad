package io.kvmesh.runtime.engine;

import java.util.Arrays;
import java.util.random.RandomGenerator;

/** Picks the next token from logits by {@link SamplingParams}. Plain Java, allocation only for top-k/top-p cuts. */
public final class Sampler {

    private Sampler() {
    }

    public static int sample(float[] logits, SamplingParams params, RandomGenerator random) {
        if (params.greedy()) {
            return argmax(logits);
        }
        int[] candidates = candidates(logits, params.topK());
        double max = Double.NEGATIVE_INFINITY;
        for (int id : candidates) {
            max = Math.max(max, logits[id] / params.temperature());
        }
        double[] probabilities = new double[candidates.length];
        double sum = 0;
        for (int i = 0; i < candidates.length; i++) {
            probabilities[i] = Math.exp(logits[candidates[i]] / params.temperature() - max);
            sum += probabilities[i];
        }
        int keep = candidates.length;
        if (params.topP() < 1) {
            // candidates are sorted most likely first when cut; sort here when top-k did not.
            Integer[] order = new Integer[candidates.length];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            double[] p = probabilities;
            Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
            int[] sortedIds = new int[candidates.length];
            double[] sortedP = new double[candidates.length];
            for (int i = 0; i < order.length; i++) {
                sortedIds[i] = candidates[order[i]];
                sortedP[i] = p[order[i]];
            }
            candidates = sortedIds;
            probabilities = sortedP;
            double cumulative = 0;
            for (keep = 0; keep < candidates.length; ) {
                cumulative += probabilities[keep++] / sum;
                if (cumulative >= params.topP()) {
                    break;
                }
            }
            sum = 0;
            for (int i = 0; i < keep; i++) {
                sum += probabilities[i];
            }
        }
        double target = random.nextDouble() * sum;
        for (int i = 0; i < keep; i++) {
            target -= probabilities[i];
            if (target <= 0) {
                return candidates[i];
            }
        }
        return candidates[keep - 1];
    }

    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /** All token ids, or the {@code k} with the largest logits (most likely first). */
    private static int[] candidates(float[] logits, int k) {
        if (k <= 0 || k >= logits.length) {
            int[] all = new int[logits.length];
            Arrays.setAll(all, i -> i);
            return all;
        }
        int[] top = new int[k];
        int size = 0;
        for (int id = 0; id < logits.length; id++) {
            if (size < k) {
                top[size++] = id;
                for (int j = size - 1; j > 0 && logits[top[j]] > logits[top[j - 1]]; j--) {
                    int swap = top[j];
                    top[j] = top[j - 1];
                    top[j - 1] = swap;
                }
            } else if (logits[id] > logits[top[k - 1]]) {
                top[k - 1] = id;
                for (int j = k - 1; j > 0 && logits[top[j]] > logits[top[j - 1]]; j--) {
                    int swap = top[j];
                    top[j] = top[j - 1];
                    top[j - 1] = swap;
                }
            }
        }
        return top;
    }
}
