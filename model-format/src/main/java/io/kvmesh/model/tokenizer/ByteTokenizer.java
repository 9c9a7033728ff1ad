package io.kvmesh.model.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * One token per UTF-8 byte: id = byte + 3, with 0 = unknown, 1 = BOS, 2 = EOS (the layout of llama.cpp's byte
 * tokens after its three specials). The tokenizer of the {@code sim} backend, which has no vocabulary.
 */
public final class ByteTokenizer implements Tokenizer {

    public static final int UNK = 0;
    public static final int BOS = 1;
    public static final int EOS = 2;
    private static final int BYTE_OFFSET = 3;

    /** Bytes have no special tokens: {@code parseSpecial} changes nothing. */
    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int start = addBos ? 1 : 0;
        int[] ids = new int[bytes.length + start];
        if (addBos) {
            ids[0] = BOS;
        }
        for (int i = 0; i < bytes.length; i++) {
            ids[start + i] = (bytes[i] & 0xFF) + BYTE_OFFSET;
        }
        return ids;
    }

    @Override
    public byte[] pieceBytes(int tokenId) {
        return tokenId >= BYTE_OFFSET && tokenId < BYTE_OFFSET + 256 ? new byte[] {(byte) (tokenId - BYTE_OFFSET)} : new byte[0];
    }

    /** The token of one byte value (0..255). */
    public static int byteToken(int value) {
        return (value & 0xFF) + BYTE_OFFSET;
    }

    @Override
    public int bosId() {
        return BOS;
    }

    @Override
    public int eosId() {
        return EOS;
    }

    @Override
    public int vocabularySize() {
        return BYTE_OFFSET + 256;
    }
}
