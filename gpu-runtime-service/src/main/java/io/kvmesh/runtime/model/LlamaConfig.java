package io.kvmesh.runtime.model;

import io.kvmesh.model.gguf.GgufFile;
import io.kvmesh.model.gguf.GgufFormatException;

/** The shape of a Llama-family model, from the GGUF metadata of architecture {@code llama}. */
public record LlamaConfig(
        int dim,
        int layers,
        int heads,
        int kvHeads,
        int headDim,
        int ropeDims,
        int ffnDim,
        int vocab,
        int contextLength,
        float rmsEps,
        float ropeTheta,
        float ropeFrequencyScale) {

    public static LlamaConfig of(GgufFile gguf, int vocab) {
        String arch = gguf.string("general.architecture");
        if (!arch.equals("llama")) {
            throw new GgufFormatException(0, "general.architecture", "architecture \"" + arch + "\" is not supported (llama is)");
        }
        int dim = (int) gguf.integer("llama.embedding_length");
        int heads = (int) gguf.integer("llama.attention.head_count");
        int kvHeads = (int) gguf.integer("llama.attention.head_count_kv", heads);
        if (heads <= 0 || dim % heads != 0 || kvHeads <= 0 || heads % kvHeads != 0) {
            throw new GgufFormatException(0, "llama.attention.head_count", "heads " + heads + " / kv heads " + kvHeads
                    + " do not divide the embedding length " + dim);
        }
        int headDim = dim / heads;
        return new LlamaConfig(dim,
                (int) gguf.integer("llama.block_count"),
                heads, kvHeads, headDim,
                (int) gguf.integer("llama.rope.dimension_count", headDim),
                (int) gguf.integer("llama.feed_forward_length"),
                vocab,
                (int) gguf.integer("llama.context_length", 2048),
                gguf.float32("llama.attention.layer_norm_rms_epsilon", 1e-5f),
                gguf.float32("llama.rope.freq_base", 10000f),
                ropeFrequencyScale(gguf));
    }

    /**
     * llama.cpp's {@code freq_scale}: positions are multiplied by it. Linear scaling ({@code llama.rope.scaling.type =
     * linear}, or the older {@code llama.rope.scale_linear}) is {@code 1 / factor}; Llama 3's frequency-dependent
     * scaling comes as the {@code rope_freqs} tensor instead (see {@link LlamaModel}). Scalings that change more than
     * the frequencies (YaRN, LongRoPE) are refused by name rather than served wrong.
     */
    static float ropeFrequencyScale(GgufFile gguf) {
        String type = gguf.has("llama.rope.scaling.type") ? gguf.string("llama.rope.scaling.type") : "none";
        float factor = gguf.has("llama.rope.scaling.factor") ? gguf.float32("llama.rope.scaling.factor")
                : gguf.float32("llama.rope.scale_linear", 1f);
        return switch (type) {
            case "none" -> gguf.has("llama.rope.scale_linear") ? 1f / factor : 1f;
            case "linear" -> {
                if (!(factor > 0)) {
                    throw new GgufFormatException(0, "llama.rope.scaling.factor", "linear RoPE scaling needs a positive factor, not " + factor);
                }
                yield 1f / factor;
            }
            default -> throw new GgufFormatException(0, "llama.rope.scaling.type",
                    "RoPE scaling \"" + type + "\" is not supported (none, linear, and Llama 3's rope_freqs tensor are)");
        };
    }

    public int kvDim() {
        return kvHeads * headDim;
    }
}
