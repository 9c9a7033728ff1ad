package io.kvmesh.runtime.model;

import java.util.Arrays;
import java.util.stream.IntStream;

import jdk.incubator.vector.FloatVector;

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
    private final RotaryTable rotary;

    public LlamaForward(LlamaModel model) {
        this.model = model;
        this.c = model.config();
        attention = new float[c.heads()][c.contextLength()];
        rotary = new RotaryTable(model);
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
     * Runs {@code tokens[from, to)} of one sequence at positions {@code from..to-1}, {@code chunk} tokens per forward
     * pass (each pass reads the weights once), and returns the last token's logits.
     */
    public float[] prefill(int[] tokens, int from, int to, KvStore store, KvStore.Slots slots, int chunk) {
        float[] logits = null;
        for (int start = from; start < to; start += chunk) {
            int n = Math.min(chunk, to - start);
            int[] positions = new int[n];
            boolean[] want = new boolean[n];
            for (int i = 0; i < n; i++) {
                positions[i] = start + i;
            }
            want[n - 1] = start + n == to;
            KvStore.Slots[] slotsOf = new KvStore.Slots[n];
            Arrays.fill(slotsOf, slots);
            logits = forward(Arrays.copyOfRange(tokens, start, start + n), positions, slotsOf, want, store)[n - 1];
        }
        return logits;
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
        float[][] rotations = new float[n][];
        for (int b = 0; b < n; b++) {
            model.tokenEmbedding.row(tokens[b], x[b]);
            rotations[b] = new float[2 * rotary.pairs()];
            rotary.rotation(positions[b], rotations[b], 0);
        }
        int headDim = c.headDim();
        int groupSize = c.heads() / c.kvHeads();
        float scale = (float) (1.0 / Math.sqrt(headDim));
        for (int l = 0; l < c.layers(); l++) {
            LlamaModel.Layer layer = model.layers[l];
            for (int b = 0; b < n; b++) {
                rmsNorm(xb[b], x[b], layer.attentionNorm());
            }
            WeightMatrix.matmulAll(xb, n, new WeightMatrix[] {layer.wq(), layer.wk(), layer.wv()}, new float[][][] {q, k, v});
            float[] keys = store.keys[l];
            float[] values = store.values[l];
            for (int b = 0; b < n; b++) {
                rope(q[b], c.heads(), rotations[b]);
                rope(k[b], c.kvHeads(), rotations[b]);
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
                        scores[t] = dot(query, h * headDim, keys, slotsOf.slot(t) * c.kvDim() + kvOffset, headDim) * scale;
                    }
                    softmax(scores, position + 1);
                    int out = h * headDim;
                    float[] result = xb[b];
                    Arrays.fill(result, out, out + headDim, 0f);
                    for (int t = 0; t <= position; t++) {
                        addScaled(result, out, values, slotsOf.slot(t) * c.kvDim() + kvOffset, scores[t], headDim);
                    }
                }
            });
            layer.wo().matmul(xb, xb2, n);
            for (int b = 0; b < n; b++) {
                add(x[b], xb2[b]);
                rmsNorm(xb[b], x[b], layer.ffnNorm());
            }
            WeightMatrix.matmulAll(xb, n, new WeightMatrix[] {layer.gate(), layer.up()}, new float[][][] {hb, hb2});
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
    private void rope(float[] vector, int heads, float[] rotation) {
        int pairs = rotary.pairs();
        for (int h = 0; h < heads; h++) {
            int base = h * c.headDim();
            for (int i = 0; i < pairs; i++) {
                float cos = rotation[i];
                float sin = rotation[pairs + i];
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

    /** {@code a[aFrom..+length) · b[bFrom..+length)}, vectorized; the same arithmetic wherever {@code b} lives. */
    private static float dot(float[] a, int aFrom, float[] b, int bFrom, int length) {
        FloatVector sum = FloatVector.zero(WeightMatrix.F);
        int lanes = WeightMatrix.F.length();
        int i = 0;
        for (; i + lanes <= length; i += lanes) {
            sum = FloatVector.fromArray(WeightMatrix.F, a, aFrom + i).fma(FloatVector.fromArray(WeightMatrix.F, b, bFrom + i), sum);
        }
        float result = WeightMatrix.sumLanes(sum);
        for (; i < length; i++) {
            result += a[aFrom + i] * b[bFrom + i];
        }
        return result;
    }

    /** {@code into[intoFrom..+length) += weight × from[fromFrom..+length)}. */
    private static void addScaled(float[] into, int intoFrom, float[] from, int fromFrom, float weight, int length) {
        int lanes = WeightMatrix.F.length();
        int i = 0;
        for (; i + lanes <= length; i += lanes) {
            FloatVector.fromArray(WeightMatrix.F, from, fromFrom + i)
                    .fma(FloatVector.broadcast(WeightMatrix.F, weight), FloatVector.fromArray(WeightMatrix.F, into, intoFrom + i))
                    .intoArray(into, intoFrom + i);
        }
        for (; i < length; i++) {
            into[intoFrom + i] += weight * from[fromFrom + i];
        }
    }

    private static void add(float[] into, float[] other) {
        for (int i = 0; i < into.length; i++) {
            into[i] += other[i];
        }
    }
}
