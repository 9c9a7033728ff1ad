package io.kvmesh.runtime.model;

/**
 * The rotary frequencies of a model (base {@code rope.freq_base}, Llama 3's {@code rope_freqs} factors, linear
 * scaling) and, per position, the cos/sin table every head and layer rotates by. Shared by the backends, so the cuda
 * kernels rotate by exactly the values the cpu backend computes ({@code StrictMath}, see {@link LlamaForward}).
 */
public final class RotaryTable {

    private final float[] frequencies;

    public RotaryTable(LlamaModel model) {
        LlamaConfig c = model.config();
        frequencies = new float[c.ropeDims() / 2];
        for (int i = 0; i < frequencies.length; i++) {
            double frequency = Math.pow(c.ropeTheta(), -2.0 * i / c.ropeDims());
            if (model.ropeFrequencyFactors != null) {
                frequency /= model.ropeFrequencyFactors[i];
            }
            frequencies[i] = (float) (frequency * c.ropeFrequencyScale());
        }
    }

    /** Rotated pairs per head (half the rotary dimensions). */
    public int pairs() {
        return frequencies.length;
    }

    /** cos then sin of each rotary frequency at {@code position}, written at {@code into[offset ..+ 2 × pairs)}. */
    public void rotation(int position, float[] into, int offset) {
        int pairs = frequencies.length;
        for (int i = 0; i < pairs; i++) {
            float angle = position * frequencies[i];
            into[offset + i] = (float) StrictMath.cos(angle);
            into[offset + pairs + i] = (float) StrictMath.sin(angle);
        }
    }
}
