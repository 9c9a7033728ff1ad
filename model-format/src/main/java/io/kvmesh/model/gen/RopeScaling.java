package io.kvmesh.model.gen;

import java.util.Locale;

/**
 * How a generated model stretches RoPE beyond its training context, written the way llama.cpp's converter writes real
 * models: {@code linear} as {@code llama.rope.scaling.type/factor} metadata (positions divided by the factor), and
 * Llama 3's frequency-dependent scaling as the {@code rope_freqs} tensor of per-frequency divisors.
 */
public record RopeScaling(Kind kind, float factor, float lowFrequencyFactor, float highFrequencyFactor, int originalContext) {

    public enum Kind { NONE, LINEAR, LLAMA3 }

    public static final RopeScaling NONE = new RopeScaling(Kind.NONE, 1, 0, 0, 0);

    public RopeScaling {
        if (!(factor > 0)) {
            throw new IllegalArgumentException("the RoPE scaling factor must be positive, got " + factor);
        }
        if (kind == Kind.LLAMA3 && !(highFrequencyFactor > lowFrequencyFactor && lowFrequencyFactor > 0 && originalContext > 0)) {
            throw new IllegalArgumentException("Llama 3 RoPE scaling needs 0 < low < high frequency factors and an original context");
        }
    }

    public static RopeScaling linear(float factor) {
        return new RopeScaling(Kind.LINEAR, factor, 0, 0, 0);
    }

    /** Llama 3.1/3.2's published parameters are factor 8 (3.1) or 32 (3.2), low 1, high 4, original context 8192. */
    public static RopeScaling llama3(float factor) {
        return new RopeScaling(Kind.LLAMA3, factor, 1, 4, 8192);
    }

    /** {@code none}, {@code linear:F}, {@code llama3} or {@code llama3:F} (factor F; default 32). */
    public static RopeScaling parse(String text) {
        String[] parts = text.toLowerCase(Locale.ROOT).split(":", 2);
        try {
            return switch (parts[0]) {
                case "none" -> NONE;
                case "linear" -> linear(Float.parseFloat(parts.length > 1 ? parts[1] : "missing"));
                case "llama3" -> llama3(parts.length > 1 ? Float.parseFloat(parts[1]) : 32f);
                default -> throw new IllegalArgumentException("RoPE scaling must be none, linear:FACTOR or llama3[:FACTOR], got " + text);
            };
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("RoPE scaling must be none, linear:FACTOR or llama3[:FACTOR], got " + text);
        }
    }

    /**
     * Llama 3's divisor per rotary frequency (as transformers' {@code _compute_llama3_parameters} and llama.cpp's
     * converter): high frequencies (wavelength below original context / high factor) unchanged, low frequencies divided
     * by the factor, and a smooth blend between.
     */
    public float[] llama3FrequencyFactors(float ropeTheta, int ropeDims) {
        float[] factors = new float[ropeDims / 2];
        double lowWavelength = originalContext / lowFrequencyFactor;
        double highWavelength = originalContext / highFrequencyFactor;
        for (int i = 0; i < factors.length; i++) {
            double frequency = 1.0 / Math.pow(ropeTheta, 2.0 * i / ropeDims);
            double wavelength = 2 * Math.PI / frequency;
            if (wavelength < highWavelength) {
                factors[i] = 1;
            } else if (wavelength > lowWavelength) {
                factors[i] = factor;
            } else {
                double smooth = (originalContext / wavelength - lowFrequencyFactor) / (highFrequencyFactor - lowFrequencyFactor);
                factors[i] = (float) (1 / ((1 - smooth) / factor + smooth));
            }
        }
        return factors;
    }

    @Override
    public String toString() {
        return switch (kind) {
            case NONE -> "none";
            case LINEAR -> "linear:" + factor;
            case LLAMA3 -> "llama3:" + factor;
        };
    }
}
