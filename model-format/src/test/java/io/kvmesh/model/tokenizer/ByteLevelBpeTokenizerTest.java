package io.kvmesh.model.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;

/** Our byte-level BPE, built from the GGUF form of cl100k_base, against JTokkit's own cl100k encoder. */
class ByteLevelBpeTokenizerTest {

    private static TiktokenVocabulary vocabulary;
    private static ByteLevelBpeTokenizer tokenizer;
    private static Encoding reference;

    @BeforeAll
    static void build() {
        vocabulary = TiktokenVocabulary.cl100k(100_256 + 256);
        tokenizer = new ByteLevelBpeTokenizer(vocabulary.tokens(), vocabulary.types(), vocabulary.merges(),
                ByteLevelBpeTokenizer.LLAMA3_PATTERN, vocabulary.bosId(), vocabulary.eosId(), true);
        reference = Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);
    }

    @Test
    void vocabularyHasTheRanksMergesAndControlTokens() {
        assertThat(vocabulary.tokens()).hasSize(100_512);
        assertThat(vocabulary.merges()).hasSize(100_256 - 256);
        assertThat(vocabulary.tokens()[100_256]).isEqualTo("<|begin_of_text|>");
        assertThat(vocabulary.types()[100_300]).isEqualTo(SentencePieceTokenizer.CONTROL);
        assertThat(tokenizer.encode("Hello world", true)).startsWith(vocabulary.bosId());
    }

    @Test
    void equalsJtokkitOnVariedText() {
        List<String> texts = new ArrayList<>(List.of("Hello world", "  multiple   spaces ", "don't I'll we've THEY'RE",
                "numbers 1234567 and 3.14", "emoji 🦙🚀 and ümlauts", "こんにちは世界", "tabs\tnew\nlines\r\n\n",
                "code: for (int i = 0; i < n; i++) { sum += x[i]; }", "<|begin_of_text|> is plain text here", ""));
        Random random = new Random(11);
        String alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789 .,;:!?'\"-_()[]{}\n\t\réüößçñ中文日本語한국어🦙😀  ";
        int[] codePoints = alphabet.codePoints().toArray();
        for (int i = 0; i < 400; i++) {
            StringBuilder text = new StringBuilder();
            int length = 1 + random.nextInt(80);
            for (int c = 0; c < length; c++) {
                text.appendCodePoint(codePoints[random.nextInt(codePoints.length)]);
            }
            texts.add(text.toString());
        }
        for (String text : texts) {
            int[] expected = reference.encodeOrdinary(text).toArray();
            assertThat(tokenizer.encode(text, false)).as("text %s", text.replace("\n", "\\n")).isEqualTo(expected);
            assertThat(tokenizer.decode(tokenizer.encode(text, true))).isEqualTo(text);
        }
    }
}
