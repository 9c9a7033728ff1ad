package io.kvmesh.model.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class StreamingDecoderTest {

    @Test
    void holdsBackIncompleteCharactersUntilTheyComplete() {
        ByteTokenizer tokenizer = new ByteTokenizer();
        StreamingDecoder decoder = new StreamingDecoder(tokenizer);
        StringBuilder shown = new StringBuilder();
        int[] ids = tokenizer.encode("a🦙é!", false);
        String[] steps = new String[ids.length];
        for (int i = 0; i < ids.length; i++) {
            steps[i] = decoder.push(ids[i]);
            shown.append(steps[i]);
        }
        assertThat(steps).containsExactly("a", "", "", "", "🦙", "", "é", "!");
        assertThat(shown.append(decoder.flush())).hasToString("a🦙é!");
    }

    @Test
    void aDanglingPartialCharacterFlushesAsReplacement() {
        ByteTokenizer tokenizer = new ByteTokenizer();
        StreamingDecoder decoder = new StreamingDecoder(tokenizer);
        assertThat(decoder.push(ByteTokenizer.byteToken(0xE2))).isEmpty();
        assertThat(decoder.flush()).isEqualTo("\uFFFD");
    }
}
