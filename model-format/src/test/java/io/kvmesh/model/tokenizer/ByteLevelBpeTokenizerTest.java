package io.kvmesh.model.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;

import io.kvmesh.model.chat.ChatMessage;
import io.kvmesh.model.chat.ChatTemplates;
import io.kvmesh.model.chat.JinjaChatTemplate;

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
        // Llama 3's chat tokens at Llama 3's offsets (128006, 128007, 128009 there).
        assertThat(vocabulary.tokens()[100_256 + 6]).isEqualTo("<|start_header_id|>");
        assertThat(vocabulary.tokens()[100_256 + 7]).isEqualTo("<|end_header_id|>");
        assertThat(vocabulary.tokens()[100_256 + 9]).isEqualTo("<|eot_id|>");
        assertThat(vocabulary.tokens()[100_256 + 2]).isEqualTo("<|reserved_special_token_0|>");
        assertThat(vocabulary.tokens()[100_256 + 8]).isEqualTo("<|reserved_special_token_4|>");
        assertThat(vocabulary.tokens()[100_256 + 10]).isEqualTo("<|reserved_special_token_5|>");
        assertThat(vocabulary.types()[vocabulary.eotId()]).isEqualTo(SentencePieceTokenizer.CONTROL);
        assertThat(vocabulary.types()[100_300]).isEqualTo(SentencePieceTokenizer.CONTROL);
        assertThat(tokenizer.encode("Hello world", true)).startsWith(vocabulary.bosId());
    }

    @Test
    void llama3ChatTokenizedWithSpecialParsingGivesTheHeaderIdsAndOneBos() {
        String text = new JinjaChatTemplate(ChatTemplates.LLAMA3, "<|begin_of_text|>", "<|end_of_text|>").render(List.of(
                new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hello <|eot_id|> there, 2+2?")), true);
        int[] ids = tokenizer.encode(text, true, true);
        // Independently: split at the vocabulary's control-token texts, cl100k (JTokkit) for the text between.
        List<Integer> expected = new ArrayList<>();
        Matcher control = Pattern.compile("<\\|[a-z_0-9]+\\|>").matcher(text);
        int from = 0;
        while (control.find()) {
            for (int id : reference.encodeOrdinary(text.substring(from, control.start())).toArray()) {
                expected.add(id);
            }
            expected.add(List.of(vocabulary.tokens()).indexOf(control.group()));
            from = control.end();
        }
        for (int id : reference.encodeOrdinary(text.substring(from)).toArray()) {
            expected.add(id);
        }
        assertThat(ids).containsExactly(expected.stream().mapToInt(Integer::intValue).toArray());
        assertThat(ids[0]).isEqualTo(vocabulary.bosId());
        assertThat(Arrays.stream(ids).filter(id -> id == vocabulary.bosId()).count()).isEqualTo(1);
        assertThat(Arrays.stream(ids).filter(id -> id == vocabulary.startHeaderId()).count()).isEqualTo(3);
        assertThat(Arrays.stream(ids).filter(id -> id == vocabulary.endHeaderId()).count()).isEqualTo(3);
        assertThat(Arrays.stream(ids).filter(id -> id == vocabulary.eotId()).count()).isEqualTo(3);
        // Without special parsing (a completion prompt) the same text is plain text after one BOS.
        int[] plain = tokenizer.encode(text, true);
        assertThat(plain[0]).isEqualTo(vocabulary.bosId());
        assertThat(Arrays.copyOfRange(plain, 1, plain.length)).isEqualTo(reference.encodeOrdinary(text).toArray());
    }

    @Test
    void userDefinedTokensAreMatchedEvenWithoutSpecialParsing() {
        int[] types = vocabulary.types().clone();
        int userDefined = vocabulary.eotId() + 5;
        types[userDefined] = SentencePieceTokenizer.USER_DEFINED;
        ByteLevelBpeTokenizer withUserToken = new ByteLevelBpeTokenizer(vocabulary.tokens(), types, vocabulary.merges(),
                ByteLevelBpeTokenizer.LLAMA3_PATTERN, vocabulary.bosId(), vocabulary.eosId(), true);
        String token = vocabulary.tokens()[userDefined];
        int[] expected = IntStream.concat(IntStream.concat(Arrays.stream(reference.encodeOrdinary("say").toArray()),
                IntStream.of(userDefined)), Arrays.stream(reference.encodeOrdinary(" now").toArray())).toArray();
        assertThat(withUserToken.encode("say" + token + " now", false)).containsExactly(expected);
        assertThat(tokenizer.encode("say" + token + " now", false)).doesNotContain(userDefined);
    }

    @Test
    void endOfGenerationIsEosTheEndOfTurnIdsAndLlamaCppsKnownTurnEnds() {
        ByteLevelBpeTokenizer chat = new ByteLevelBpeTokenizer(vocabulary.tokens(), vocabulary.types(), vocabulary.merges(),
                ByteLevelBpeTokenizer.LLAMA3_PATTERN, vocabulary.bosId(), vocabulary.eosId(), true, new int[] {vocabulary.eotId()});
        assertThat(chat.isEndOfGeneration(vocabulary.eosId())).isTrue();
        assertThat(chat.isEndOfGeneration(vocabulary.eotId())).isTrue();
        assertThat(chat.isEndOfGeneration(vocabulary.bosId())).isFalse();
        assertThat(chat.isEndOfGeneration(reference.encodeOrdinary("Hello").get(0))).isFalse();
        // <|eot_id|> by its text alone, as llama.cpp finds it in files without tokenizer.ggml.eot_token_id.
        assertThat(tokenizer.isEndOfGeneration(vocabulary.eotId())).isTrue();
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
