package io.kvmesh.model.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Text ↔ token ids. Runtime and router use the same tokenizer so their block hashes agree. */
public interface Tokenizer {

    /**
     * Token ids of {@code text}, with the beginning-of-sequence token first when {@code addBos}. Special (control)
     * tokens written in the text are plain text, as llama.cpp tokenizes a completion prompt.
     */
    default int[] encode(String text, boolean addBos) {
        return encode(text, addBos, false);
    }

    /**
     * Token ids of {@code text}. With {@code parseSpecial} (llama.cpp's {@code parse_special}, how it tokenizes the
     * output of a chat template) control tokens written in the text, {@code <|start_header_id|>}, {@code <s>}, …,
     * become their ids; without it they are plain text. User-defined tokens are matched either way. With
     * {@code addBos} the beginning-of-sequence token comes first, unless special parsing already made it the first
     * token (a template that writes {@code bos_token} itself): never two.
     */
    int[] encode(String text, boolean addBos, boolean parseSpecial);

    /**
     * Whether generating {@code tokenId} ends the answer: EOS, and the end-of-turn tokens llama.cpp also stops at
     * ({@code tokenizer.ggml.eot_token_id}, {@code <|eot_id|>}, {@code <|im_end|>}, …).
     */
    default boolean isEndOfGeneration(int tokenId) {
        return tokenId == eosId();
    }

    /** The text of {@code tokenIds}: their pieces' bytes as UTF-8; special tokens produce no text. */
    default String decode(int[] tokenIds) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int id : tokenIds) {
            out.writeBytes(pieceBytes(id));
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** The bytes one token adds to decoded text: a byte token may carry part of a multi-byte character. */
    byte[] pieceBytes(int tokenId);

    int bosId();

    int eosId();

    int vocabularySize();
}
