package io.kvmesh.runtime.model;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * The forward pass of one token, written as the math: embedding, then per layer RMSNorm → Q/K/V → RoPE → attention
 * over every earlier position (read through {@link KvStore.Slots}, so the same code serves paged and dense caches) →
 * output projection + residual → RMSNorm → SwiGLU feed-forward + residual; final RMSNorm and the vocabulary logits.
 * Buffers are allocated once. Not thread-safe: one per engine thread (its matmuls use all cores).
 */
public final class LlamaForward {

    private final LlamaModel model;
    private final LlamaConfig c;
    private final float[] x;
    private final float[] xb;
    private final float[] xb2;
    private final float[] q;
    private final float[] k;
    private final float[] v;
    private final float[] hb;
    private final float[] hb2;
    private final float[] logits;
    private final float[][] attention;
    private final float[] ropeFrequencies;

    public LlamaForward(LlamaModel model) {
        this.model = model;
        this.c = model.config();
        x = new float[c.dim()];
        xb = new float[c.dim()];
        xb2 = new float[c.dim()];
        q = new float[c.dim()];
        k = new float[c.kvDim()];
        v = new float[c.kvDim()];
        hb = new float[c.ffnDim()];
        hb2 = new float[c.ffnDim()];
        logits = new float[c.vocab()];
        attention = new float[c.heads()][c.contextLength()];
        ropeFrequencies = new float[c.ropeDims() / 2];
        for (int i = 0; i < ropeFrequencies.length; i++) {
            double frequency = Math.pow(c.ropeTheta(), -2.0 * i / c.ropeDims());
            if (model.ropeFrequencyFactors != null) {
                frequency /= model.ropeFrequencyFactors[i];
            }
            ropeFrequencies[i] = (float) frequency;
        }
    }

    public LlamaConfig config() {
        return c;
    }

    /**
     * Runs token {@code token} at {@code position}, writing its K/V into {@code slots.slot(position)} of {@code store}
     * and attending over positions {@code 0..position}. Returns the logits when {@code wantLogits} (a view into a
     * buffer reused by the next call), else null.
     */
    public float[] forward(int token, int position, KvStore store, KvStore.Slots slots, boolean wantLogits) {
        if (position >= c.contextLength()) {
            throw new IllegalArgumentException("position " + position + " is beyond the context length " + c.contextLength());
        }
        model.tokenEmbedding.row(token, x);
        int headDim = c.headDim();
        int groupSize = c.heads() / c.kvHeads();
        float scale = (float) (1.0 / Math.sqrt(headDim));
        for (int l = 0; l < c.layers(); l++) {
            LlamaModel.Layer layer = model.layers[l];
            rmsNorm(xb, x, layer.attentionNorm());
            layer.wq().matmul(xb, q);
            layer.wk().matmul(xb, k);
            layer.wv().matmul(xb, v);
            rope(q, c.heads(), position);
            rope(k, c.kvHeads(), position);
            int slot = slots.slot(position);
            System.arraycopy(k, 0, store.keys[l], slot * c.kvDim(), c.kvDim());
            System.arraycopy(v, 0, store.values[l], slot * c.kvDim(), c.kvDim());
            float[] keys = store.keys[l];
            float[] values = store.values[l];
            IntStream.range(0, c.heads()).parallel().forEach(h -> {
                int kvOffset = (h / groupSize) * headDim;
                float[] scores = attention[h];
                for (int t = 0; t <= position; t++) {
                    int base = slots.slot(t) * c.kvDim() + kvOffset;
                    float score = 0;
                    for (int i = 0; i < headDim; i++) {
                        score += q[h * headDim + i] * keys[base + i];
                    }
                    scores[t] = score * scale;
                }
                softmax(scores, position + 1);
                int out = h * headDim;
                Arrays.fill(xb, out, out + headDim, 0f);
                for (int t = 0; t <= position; t++) {
                    int base = slots.slot(t) * c.kvDim() + kvOffset;
                    float weight = scores[t];
                    for (int i = 0; i < headDim; i++) {
                        xb[out + i] += weight * values[base + i];
                    }
                }
            });
            layer.wo().matmul(xb, xb2);
            add(x, xb2);
            rmsNorm(xb, x, layer.ffnNorm());
            layer.gate().matmul(xb, hb);
            layer.up().matmul(xb, hb2);
            for (int i = 0; i < hb.length; i++) {
                float gate = hb[i];
                hb[i] = gate / (1f + (float) Math.exp(-gate)) * hb2[i];
            }
            layer.down().matmul(hb, xb2);
            add(x, xb2);
        }
        if (!wantLogits) {
            return null;
        }
        rmsNorm(xb, x, model.outputNorm);
        model.output.matmul(xb, logits);
        return logits;
    }

    private void rmsNorm(float[] out, float[] in, float[] weight) {
        double squares = 0;
        for (float value : in) {
            squares += value * value;
        }
        float inverse = (float) (1.0 / Math.sqrt(squares / in.length + c.rmsEps()));
        for (int i = 0; i < in.length; i++) {
            out[i] = in[i] * inverse * weight[i];
        }
    }

    /** llama.cpp's "normal" RoPE: rotates adjacent pairs of the first {@code ropeDims} dimensions of each head. */
    private void rope(float[] vector, int heads, int position) {
        for (int h = 0; h < heads; h++) {
            int base = h * c.headDim();
            for (int i = 0; i < ropeFrequencies.length; i++) {
                float angle = position * ropeFrequencies[i];
                float cos = (float) Math.cos(angle);
                float sin = (float) Math.sin(angle);
                float a = vector[base + 2 * i];
                float b = vector[base + 2 * i + 1];
                vector[base + 2 * i] = a * cos - b * sin;
                vector[base + 2 * i + 1] = a * sin + b * cos;
            }
        }
    }

    private static void softmax(float[] values, int length) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < length; i++) {
            max = Math.max(max, values[i]);
        }
        float sum = 0;
        for (int i = 0; i < length; i++) {
            values[i] = (float) Math.exp(values[i] - max);
            sum += values[i];
        }
        for (int i = 0; i < length; i++) {
            values[i] /= sum;
        }
    }

    private static void add(float[] into, float[] other) {
        for (int i = 0; i < into.length; i++) {
            into[i] += other[i];
        }
    }
}
