package io.kvmesh.model.tokenizer;

/** Text ↔ token ids. Runtime and router use the same tokenizer so their block hashes agree. */
public interface Tokenizer {

    /** Token ids of {@code text}, with the beginning-of-sequence token first when {@code addBos}. */
    int[] encode(String text, boolean addBos);

    /** The text of {@code tokenIds}; special tokens produce no text. */
    String decode(int[] tokenIds);

    /** The bytes one token adds to decoded text: a byte token may carry part of a multi-byte character. */
    byte[] pieceBytes(int tokenId);

    int bosId();

    int eosId();

    int vocabularySize();
}
