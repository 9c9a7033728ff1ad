package io.kvmesh.runtime.engine;

/**
 * How the next token is chosen: {@code temperature} 0 is greedy (argmax); otherwise logits are divided by it, cut to
 * the {@code topK} most likely (0: no cut) and to the smallest set whose probability reaches {@code topP} (1: no cut),
 * and sampled with a generator seeded by {@code seed} (null: a fresh seed).
 */
public record SamplingParams(double temperature, int topK, double topP, Long seed) {

    public static final SamplingParams GREEDY = new SamplingParams(0, 0, 1, null);

    public SamplingParams {
        if (!(temperature >= 0) || topK < 0 || !(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("temperature >= 0, top_k >= 0 and 0 < top_p <= 1 are required");
        }
    }

    public boolean greedy() {
        return temperature == 0;
    }
}
