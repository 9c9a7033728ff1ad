package io.kvmesh.model.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Text ↔ token ids. Runtime and router use the same tokenizer so their block hashes agree. */
public interface Tokenizer {

    /** Token ids of {@code text}, with the beginning-of-sequence token first when {@code addBos}. */
    int[] encode(String text, boolean addBos);

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
