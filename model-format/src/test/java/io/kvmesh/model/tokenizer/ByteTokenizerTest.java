package io.kvmesh.model.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ByteTokenizerTest {

    private final ByteTokenizer tokenizer = new ByteTokenizer();

    @Test
    void oneTokenPerUtf8ByteAfterBos() {
        assertThat(tokenizer.encode("Hi é", true)).containsExactly(1, 'H' + 3, 'i' + 3, ' ' + 3, 0xC3 + 3, 0xA9 + 3);
        assertThat(tokenizer.encode("", false)).isEmpty();
    }

    @Test
    void decodeInvertsEncodeAndSkipsSpecials() {
        String text = "kv-cache ✓ 租户";
        int[] ids = tokenizer.encode(text, true);
        assertThat(tokenizer.decode(ids)).isEqualTo(text);
        assertThat(tokenizer.decode(new int[] {ByteTokenizer.BOS, 'a' + 3, ByteTokenizer.EOS, ByteTokenizer.UNK})).isEqualTo("a");
    }
}
