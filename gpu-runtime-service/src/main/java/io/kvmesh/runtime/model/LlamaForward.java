package io.kvmesh.runtime.model;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * The forward pass of one token, written as the math: embedding, then per layer RMSNorm → Q/K/V → RoPE → attention
 * over every earlier position (read through {@link KvStore.Slots}, so the same code serves paged and dense caches) →
 * output projection + residual → RMSNorm → SwiGLU feed-forward + residual; final RMSNorm and the vocabulary logits.
 * Transcendentals use {@code StrictMath}: {@code Math.exp} may differ by an ulp between interpreted and compiled code,
 * which would break "batched equals single" and "paged equals dense" exactness.
 * Activations are per call (sized to the batch); attention scratch is allocated once. Not thread-safe: one per engine
 * thread (its matmuls use all cores).
 */
public final class LlamaForward {

    private final LlamaModel model;
    private final LlamaConfig c;
    private final float[][] attention;
    private final float[] ropeFrequencies;

    public LlamaForward(LlamaModel model) {
        this.model = model;
        this.c = model.config();
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
     * and attending over positions {@code 0..position}. Returns the logits when {@code wantLogits}, else null.
     */
    public float[] forward(int token, int position, KvStore store, KvStore.Slots slots, boolean wantLogits) {
        return forward(new int[] {token}, new int[] {position}, new KvStore.Slots[] {slots}, new boolean[] {wantLogits}, store)[0];
    }

    /**
     * Runs a batch of tokens — any mix of sequences and positions, e.g. a prefill chunk and other sequences' decode
     * steps — through the model at once: each weight matrix is read once for the whole batch. Every token's K/V is
     * written before attention, so a token attends over the earlier tokens of its own chunk too. Returns, per token,
     * its logits when asked for, else null. Each token's arithmetic is exactly that of a batch of one.
     */
    public float[][] forward(int[] tokens, int[] positions, KvStore.Slots[] slots, boolean[] wantLogits, KvStore store) {
        int n = tokens.length;
        for (int b = 0; b < n; b++) {
            if (positions[b] >= c.contextLength()) {
                throw new IllegalArgumentException("position " + positions[b] + " is beyond the context length " + c.contextLength());
            }
        }
        float[][] x = new float[n][c.dim()];
        float[][] xb = new float[n][c.dim()];
        float[][] xb2 = new float[n][c.dim()];
        float[][] q = new float[n][c.dim()];
        float[][] k = new float[n][c.kvDim()];
        float[][] v = new float[n][c.kvDim()];
        float[][] hb = new float[n][c.ffnDim()];
        float[][] hb2 = new float[n][c.ffnDim()];
        for (int b = 0; b < n; b++) {
            model.tokenEmbedding.row(tokens[b], x[b]);
        }
        int headDim = c.headDim();
        int groupSize = c.heads() / c.kvHeads();
        float scale = (float) (1.0 / Math.sqrt(headDim));
        for (int l = 0; l < c.layers(); l++) {
            LlamaModel.Layer layer = model.layers[l];
            for (int b = 0; b < n; b++) {
                rmsNorm(xb[b], x[b], layer.attentionNorm());
            }
            layer.wq().matmul(xb, q, n);
            layer.wk().matmul(xb, k, n);
            layer.wv().matmul(xb, v, n);
            float[] keys = store.keys[l];
            float[] values = store.values[l];
            for (int b = 0; b < n; b++) {
                rope(q[b], c.heads(), positions[b]);
                rope(k[b], c.kvHeads(), positions[b]);
                int slot = slots[b].slot(positions[b]);
                System.arraycopy(k[b], 0, keys, slot * c.kvDim(), c.kvDim());
                System.arraycopy(v[b], 0, values, slot * c.kvDim(), c.kvDim());
            }
            IntStream.range(0, c.heads()).parallel().forEach(h -> {
                int kvOffset = (h / groupSize) * headDim;
                float[] scores = attention[h];
                for (int b = 0; b < n; b++) {
                    KvStore.Slots slotsOf = slots[b];
                    int position = positions[b];
                    float[] query = q[b];
                    for (int t = 0; t <= position; t++) {
                        int base = slotsOf.slot(t) * c.kvDim() + kvOffset;
                        float score = 0;
                        for (int i = 0; i < headDim; i++) {
                            score += query[h * headDim + i] * keys[base + i];
                        }
                        scores[t] = score * scale;
                    }
                    softmax(scores, position + 1);
                    int out = h * headDim;
                    float[] result = xb[b];
                    Arrays.fill(result, out, out + headDim, 0f);
                    for (int t = 0; t <= position; t++) {
                        int base = slotsOf.slot(t) * c.kvDim() + kvOffset;
                        float weight = scores[t];
                        for (int i = 0; i < headDim; i++) {
                            result[out + i] += weight * values[base + i];
                        }
                    }
                }
            });
            layer.wo().matmul(xb, xb2, n);
            for (int b = 0; b < n; b++) {
                add(x[b], xb2[b]);
                rmsNorm(xb[b], x[b], layer.ffnNorm());
            }
            layer.gate().matmul(xb, hb, n);
            layer.up().matmul(xb, hb2, n);
            for (int b = 0; b < n; b++) {
                float[] gate = hb[b];
                float[] up = hb2[b];
                for (int i = 0; i < gate.length; i++) {
                    gate[i] = gate[i] / (1f + (float) StrictMath.exp(-gate[i])) * up[i];
                }
            }
            layer.down().matmul(hb, xb2, n);
            for (int b = 0; b < n; b++) {
                add(x[b], xb2[b]);
            }
        }
        int wanted = 0;
        for (boolean want : wantLogits) {
            wanted += want ? 1 : 0;
        }
        float[][] result = new float[n][];
        if (wanted == 0) {
            return result;
        }
        float[][] normed = new float[wanted][];
        float[][] logits = new float[wanted][c.vocab()];
        for (int b = 0, w = 0; b < n; b++) {
            if (wantLogits[b]) {
                rmsNorm(xb[b], x[b], model.outputNorm);
                normed[w] = xb[b];
                result[b] = logits[w++];
            }
        }
        model.output.matmul(normed, logits, wanted);
        return result;
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
                float cos = (float) StrictMath.cos(angle);
                float sin = (float) StrictMath.sin(angle);
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
            values[i] = (float) StrictMath.exp(values[i] - max);
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
