package io.kvmesh.prefix.blocks;

import java.util.HexFormat;

/**
 * The text form of a block hash: exactly 16 lowercase hex digits of the unsigned 64-bit value. Used by
 * {@code kvmesh hash}, the JSON codec and logs, so a hash reads the same everywhere (and stays exact in
 * JavaScript, whose numbers cannot hold 64 bits).
 */
public final class BlockHashFormat {

    private static final HexFormat HEX = HexFormat.of();

    private BlockHashFormat() {
    }

    public static String format(long hash) {
        return HEX.toHexDigits(hash);
    }

    /** Parses 16 hex digits (either case); anything else is an {@link IllegalArgumentException}. */
    public static long parse(CharSequence text) {
        if (text.length() != 16) {
            throw new IllegalArgumentException("a block hash is 16 hex digits, got \"" + text + "\"");
        }
        for (int i = 0; i < 16; i++) {
            if (Character.digit(text.charAt(i), 16) < 0) {
                throw new IllegalArgumentException("a block hash is 16 hex digits, got \"" + text + "\"");
            }
        }
        return HexFormat.fromHexDigitsToLong(text);
    }
}
