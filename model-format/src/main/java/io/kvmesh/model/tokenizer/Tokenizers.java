package io.kvmesh.model.tokenizer;

import io.kvmesh.model.gguf.GgufFile;
import io.kvmesh.model.gguf.GgufFormatException;

/** The tokenizer a GGUF file describes, by {@code tokenizer.ggml.model}. */
public final class Tokenizers {

    private Tokenizers() {
    }

    public static Tokenizer fromGguf(GgufFile gguf) {
        String kind = gguf.has("tokenizer.ggml.model") ? gguf.string("tokenizer.ggml.model") : "(none)";
        return switch (kind) {
            case "llama" -> SentencePieceTokenizer.fromGguf(gguf);
            case "gpt2" -> ByteLevelBpeTokenizer.fromGguf(gguf);
            default -> throw new GgufFormatException(0, "tokenizer.ggml.model",
                    "tokenizer \"" + kind + "\" is not supported (llama and gpt2 are)");
        };
    }
}
