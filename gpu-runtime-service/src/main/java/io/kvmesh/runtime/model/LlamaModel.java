package io.kvmesh.runtime.model;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;

import io.kvmesh.model.gguf.GgufFile;
import io.kvmesh.model.gguf.GgufTensorInfo;
import io.kvmesh.model.tokenizer.Tokenizer;
import io.kvmesh.model.tokenizer.Tokenizers;

/**
 * A Llama-family model loaded from GGUF: configuration, tokenizer and weights (copied into memory this model owns;
 * {@link #close()} frees it). Tensor names follow llama.cpp ({@code token_embd}, {@code blk.N.attn_q}, …); the
 * output matrix falls back to the embedding when the model ties them; {@code rope_freqs} (Llama 3 scaling) is used
 * when present.
 */
public final class LlamaModel implements AutoCloseable {

    private final Arena arena = Arena.ofShared();
    private final String name;
    private final LlamaConfig config;
    private final Tokenizer tokenizer;
    final WeightMatrix tokenEmbedding;
    final float[] outputNorm;
    final WeightMatrix output;
    final float[] ropeFrequencyFactors;
    final Layer[] layers;

    /** One transformer layer's weights. */
    public record Layer(float[] attentionNorm, WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
                 float[] ffnNorm, WeightMatrix gate, WeightMatrix up, WeightMatrix down) {
    }

    private LlamaModel(GgufFile gguf, String name) {
        this.name = name;
        tokenizer = Tokenizers.fromGguf(gguf);
        config = LlamaConfig.of(gguf, tokenizer.vocabularySize());
        tokenEmbedding = load(gguf, "token_embd.weight");
        outputNorm = floats(load(gguf, "output_norm.weight"));
        output = gguf.tensors().stream().anyMatch(t -> t.name().equals("output.weight")) ? load(gguf, "output.weight") : tokenEmbedding;
        ropeFrequencyFactors = gguf.tensors().stream().anyMatch(t -> t.name().equals("rope_freqs.weight"))
                ? floats(load(gguf, "rope_freqs.weight")) : null;
        layers = new Layer[config.layers()];
        for (int l = 0; l < layers.length; l++) {
            String p = "blk." + l + ".";
            layers[l] = new Layer(floats(load(gguf, p + "attn_norm.weight")), load(gguf, p + "attn_q.weight"),
                    load(gguf, p + "attn_k.weight"), load(gguf, p + "attn_v.weight"), load(gguf, p + "attn_output.weight"),
                    floats(load(gguf, p + "ffn_norm.weight")), load(gguf, p + "ffn_gate.weight"), load(gguf, p + "ffn_up.weight"),
                    load(gguf, p + "ffn_down.weight"));
        }
    }

    /** Loads a GGUF model; the file is closed afterwards (the weights are copied). */
    public static LlamaModel load(Path file) throws IOException {
        try (GgufFile gguf = GgufFile.open(file)) {
            String name = gguf.has("general.name") ? gguf.string("general.name") : file.getFileName().toString();
            return new LlamaModel(gguf, name);
        }
    }

    private WeightMatrix load(GgufFile gguf, String tensor) {
        GgufTensorInfo info = gguf.tensor(tensor);
        return WeightMatrix.load(info, gguf.tensorData(info), arena);
    }

    private static float[] floats(WeightMatrix vector) {
        float[] values = new float[vector.cols()];
        vector.row(0, values);
        return values;
    }

    public String name() {
        return name;
    }

    public WeightMatrix tokenEmbedding() {
        return tokenEmbedding;
    }

    public float[] outputNorm() {
        return outputNorm;
    }

    /** The vocabulary projection (the embedding itself when the model ties them). */
    public WeightMatrix output() {
        return output;
    }

    public Layer layer(int index) {
        return layers[index];
    }

    public LlamaConfig config() {
        return config;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public void close() {
        arena.close();
    }
}
