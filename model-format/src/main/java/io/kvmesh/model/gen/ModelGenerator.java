package io.kvmesh.model.gen;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

import io.kvmesh.model.chat.ChatTemplates;
import io.kvmesh.model.gguf.GgmlType;
import io.kvmesh.model.gguf.GgufValue;
import io.kvmesh.model.gguf.GgufWriter;
import io.kvmesh.model.tokenizer.TiktokenVocabulary;

/**
 * Writes a seeded random-weight Llama-family GGUF of any shape, with a real vocabulary (cl100k_base from JTokkit, Llama
 * 3's pre-tokenizer and chat tokens) and llama.cpp's tensor names. Matrices use the requested type; norms are F32 ones.
 * Like a Llama 3 Instruct file it carries Llama 3's chat template ({@code tokenizer.chat_template}) and names
 * {@code <|eot_id|>} as the end of a turn ({@code tokenizer.ggml.eot_token_id}); EOS stays {@code <|end_of_text|>}.
 * The same seed gives the same file.
 */
public final class ModelGenerator {

    private ModelGenerator() {
    }

    /** A model with Llama 3's chat template. */
    public static void write(ModelShape shape, GgmlType type, long seed, Path file) throws IOException {
        write(shape, type, seed, file, true);
    }

    /** {@code chatTemplate}: whether to write {@code tokenizer.chat_template} (without it, servers use a fallback). */
    public static void write(ModelShape shape, GgmlType type, long seed, Path file, boolean chatTemplate) throws IOException {
        TiktokenVocabulary vocabulary = TiktokenVocabulary.cl100k(shape.vocabularySize());
        Weights random = new Weights(seed);
        int kvDim = shape.kvHeads() * shape.headDim();
        GgufWriter gguf = new GgufWriter()
                .put("general.architecture", GgufValue.string("llama"))
                .put("general.name", GgufValue.string("kvmesh-" + shape.name() + "-" + type.name().toLowerCase()))
                .put("general.file_type", GgufValue.uint32(fileType(type)))
                .put("llama.context_length", GgufValue.uint32(shape.contextLength()))
                .put("llama.embedding_length", GgufValue.uint32(shape.dim()))
                .put("llama.block_count", GgufValue.uint32(shape.layers()))
                .put("llama.feed_forward_length", GgufValue.uint32(shape.ffnDim()))
                .put("llama.rope.dimension_count", GgufValue.uint32(shape.headDim()))
                .put("llama.rope.freq_base", GgufValue.float32(shape.ropeTheta()))
                .put("llama.attention.head_count", GgufValue.uint32(shape.heads()))
                .put("llama.attention.head_count_kv", GgufValue.uint32(shape.kvHeads()))
                .put("llama.attention.layer_norm_rms_epsilon", GgufValue.float32(1e-5f))
                .put("llama.vocab_size", GgufValue.uint32(shape.vocabularySize()))
                .put("tokenizer.ggml.model", GgufValue.string("gpt2"))
                .put("tokenizer.ggml.pre", GgufValue.string("llama-bpe"))
                .put("tokenizer.ggml.tokens", GgufValue.strings(vocabulary.tokens()))
                .put("tokenizer.ggml.token_type", GgufValue.int32s(Arrays.stream(vocabulary.types()).asLongStream().toArray()))
                .put("tokenizer.ggml.merges", GgufValue.strings(vocabulary.merges()))
                .put("tokenizer.ggml.bos_token_id", GgufValue.uint32(vocabulary.bosId()))
                .put("tokenizer.ggml.eos_token_id", GgufValue.uint32(vocabulary.eosId()))
                .put("tokenizer.ggml.eot_token_id", GgufValue.uint32(vocabulary.eotId()))
                .put("tokenizer.ggml.add_bos_token", GgufValue.bool(true));
        if (chatTemplate) {
            gguf.put("tokenizer.chat_template", GgufValue.string(ChatTemplates.LLAMA3));
        }
        if (shape.ropeScaling().kind() == RopeScaling.Kind.LINEAR) {
            gguf.put("llama.rope.scaling.type", GgufValue.string("linear"))
                    .put("llama.rope.scaling.factor", GgufValue.float32(shape.ropeScaling().factor()));
        }
        gguf.add(matrix("token_embd.weight", shape.dim(), shape.vocabularySize(), type, random));
        for (int l = 0; l < shape.layers(); l++) {
            String p = "blk." + l + ".";
            gguf.add(ones(p + "attn_norm.weight", shape.dim()));
            gguf.add(matrix(p + "attn_q.weight", shape.dim(), shape.dim(), type, random));
            gguf.add(matrix(p + "attn_k.weight", shape.dim(), kvDim, type, random));
            gguf.add(matrix(p + "attn_v.weight", shape.dim(), kvDim, type, random));
            gguf.add(matrix(p + "attn_output.weight", shape.dim(), shape.dim(), type, random));
            gguf.add(ones(p + "ffn_norm.weight", shape.dim()));
            gguf.add(matrix(p + "ffn_gate.weight", shape.dim(), shape.ffnDim(), type, random));
            gguf.add(matrix(p + "ffn_up.weight", shape.dim(), shape.ffnDim(), type, random));
            gguf.add(matrix(p + "ffn_down.weight", shape.ffnDim(), shape.dim(), type, random));
        }
        gguf.add(ones("output_norm.weight", shape.dim()));
        if (shape.ropeScaling().kind() == RopeScaling.Kind.LLAMA3) {
            float[] factors = shape.ropeScaling().llama3FrequencyFactors(shape.ropeTheta(), shape.headDim());
            gguf.add(new GgufWriter.Tensor("rope_freqs.weight", new long[] {factors.length}, GgmlType.F32,
                    Quantizer.quantize(factors, GgmlType.F32)));
        }
        if (!shape.tiedOutput()) {
            gguf.add(matrix("output.weight", shape.dim(), shape.vocabularySize(), type, random));
        }
        gguf.write(file);
    }

    /** ggml's general.file_type for a model whose matrices are all {@code type}. */
    private static long fileType(GgmlType type) {
        return switch (type) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q8_0 -> 7;
            case BF16 -> 32;
            default -> throw new IllegalArgumentException("cannot generate " + type + " models (F16, BF16, Q8_0, Q4_0)");
        };
    }

    private static GgufWriter.Tensor matrix(String name, int cols, int rows, GgmlType type, Weights random) {
        float[] values = new float[Math.multiplyExact(cols, rows)];
        random.fill(values, (float) (0.5 / Math.sqrt(cols)));
        return new GgufWriter.Tensor(name, new long[] {cols, rows}, type, Quantizer.quantize(values, type));
    }

    private static GgufWriter.Tensor ones(String name, int length) {
        float[] values = new float[length];
        Arrays.fill(values, 1f);
        return new GgufWriter.Tensor(name, new long[] {length}, GgmlType.F32, Quantizer.quantize(values, GgmlType.F32));
    }

    /** A fast seeded generator (xorshift64*) of uniform weights. */
    private static final class Weights {
        private long state;

        Weights(long seed) {
            state = seed ^ 0x9E3779B97F4A7C15L;
            if (state == 0) {
                state = 1;
            }
        }

        void fill(float[] values, float scale) {
            for (int i = 0; i < values.length; i++) {
                state ^= state >>> 12;
                state ^= state << 25;
                state ^= state >>> 27;
                long bits = state * 0x2545F4914F6CDD1DL;
                values[i] = ((bits >>> 40) / (float) (1 << 24) * 2f - 1f) * scale;
            }
        }
    }
}
