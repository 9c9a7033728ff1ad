package io.kvmesh.model.tokenizer;

/**
 * GPT-2's byte-to-character table: every byte maps to a printable character (printable ASCII and Latin-1 map to
 * themselves, the rest to U+0100 onwards), which is how byte-level BPE vocabularies store their tokens in GGUF.
 */
final class ByteLevel {

    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[0x200];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int next = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (256 + next++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private ByteLevel() {
    }

    static String encode(byte[] bytes) {
        StringBuilder text = new StringBuilder(bytes.length);
        for (byte b : bytes) {
            text.append(BYTE_TO_CHAR[b & 0xFF]);
        }
        return text.toString();
    }

    /** The bytes of a byte-level string; characters outside the table give -1 (the caller decides). */
    static byte[] decode(String text) {
        byte[] bytes = new byte[text.length()];
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b < 0) {
                throw new IllegalArgumentException("character U+" + Integer.toHexString(c) + " is not byte-level encoded");
            }
            bytes[i] = (byte) b;
        }
        return bytes;
    }
}
