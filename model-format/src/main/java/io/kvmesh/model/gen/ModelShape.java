package io.kvmesh.model.gen;

/** The shape of a generated Llama-family model. Presets: {@code tiny} (tests), {@code small} (~100M), {@code 1b}. */
public record ModelShape(String name, int dim, int layers, int heads, int kvHeads, int ffnDim, int contextLength,
                         float ropeTheta, int vocabularySize, boolean tiedOutput, RopeScaling ropeScaling) {

    public ModelShape {
        if (dim <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || ffnDim <= 0 || contextLength <= 0) {
            throw new IllegalArgumentException("every dimension must be positive");
        }
        if (dim % heads != 0 || heads % kvHeads != 0) {
            throw new IllegalArgumentException("heads must divide dim and kv heads must divide heads: dim " + dim
                    + ", heads " + heads + ", kv heads " + kvHeads);
        }
        if (dim % 32 != 0 || ffnDim % 32 != 0) {
            throw new IllegalArgumentException("dim and ffn must be multiples of 32 (the quantization block)");
        }
    }

    public static ModelShape preset(String name) {
        return switch (name) {
            case "tiny" -> new ModelShape("tiny", 64, 2, 4, 2, 192, 1024, 500_000f, 100_352, true, RopeScaling.NONE);
            case "small" -> new ModelShape("small", 512, 8, 8, 4, 1536, 4096, 500_000f, 100_352, false, RopeScaling.NONE);
            // Llama-3.2-1B: 128K context through Llama 3 RoPE scaling (factor 32) of an 8K original.
            case "1b" -> new ModelShape("1b", 2048, 16, 32, 8, 8192, 131_072, 500_000f, 128_256, true, RopeScaling.llama3(32));
            default -> throw new IllegalArgumentException("unknown preset \"" + name + "\" (tiny, small, 1b)");
        };
    }

    public ModelShape withRopeScaling(RopeScaling scaling) {
        return new ModelShape("custom", dim, layers, heads, kvHeads, ffnDim, contextLength, ropeTheta, vocabularySize, tiedOutput, scaling);
    }

    public int headDim() {
        return dim / heads;
    }

    /** Parameters, counting a tied output once. */
    public long parameters() {
        long perLayer = 2L * dim + (long) dim * dim * 2 + 2L * dim * (kvHeads * headDim()) + 3L * dim * ffnDim;
        return (long) vocabularySize * dim * (tiedOutput ? 1 : 2) + dim + layers * perLayer;
    }
}
