package io.kvmesh.model.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.kvmesh.model.NodeReference;
import io.kvmesh.model.gguf.GgufFile;

/** The real Llama 2 vocabulary from the third-party fixture, against an independent implementation. */
class SentencePieceTokenizerTest {

    private static SentencePieceTokenizer tokenizer;

    @BeforeAll
    static void load() throws Exception {
        try (GgufFile gguf = GgufFile.open(java.nio.file.Path.of("../../shared/fixtures/llama-2-tiny-random.gguf"))) {
            tokenizer = SentencePieceTokenizer.fromGguf(gguf);
        }
    }

    @Test
    void knownTokenIds() {
        // Llama 2's tokenizer: "Hello world" → <s> ▁Hello ▁world.
        assertThat(tokenizer.encode("Hello world", true)).containsExactly(1, 15043, 3186);
        assertThat(tokenizer.encode("Hello world", false)).containsExactly(15043, 3186);
        // Byte fallback: U+1F999 🦙 is not in the vocabulary: four <0xXX> tokens (id = byte + 3).
        assertThat(tokenizer.encode("🦙", false)).containsExactly(29871, 0xF0 + 3, 0x9F + 3, 0xA6 + 3, 0x99 + 3);
        // llama.cpp: an empty text is only BOS; control tokens in text are plain text.
        assertThat(tokenizer.encode("", true)).containsExactly(1);
        assertThat(tokenizer.encode("", false)).isEmpty();
        assertThat(tokenizer.encode("<s>", false)).doesNotContain(1);
    }

    @Test
    void decodingInvertsEncoding() {
        for (String text : List.of("Hello world", "  two  spaces\tand tab\nnewline", "Grüße, 世界 🦙!", "x")) {
            assertThat(tokenizer.decode(tokenizer.encode(text, true))).isEqualTo(" " + text);
        }
    }

    @Test
    void equalsTheIndependentLlamaTokenizerOnVariedText() throws Exception {
        List<String> texts = new ArrayList<>(List.of(
                "Hello world", " leading space", "trailing space ", "multiple   spaces", "\n\nnewlines\n", "tabs\tand\tmore",
                "CamelCaseWordsAndNumbers12345", "3.14159 + 2.71828 = 5.85987", "don't won't can't I'm", "e-mail@example.org",
                "Grüße aus München", "こんにちは世界", "Привет, мир", "emoji 🦙🚀✨ mix", "<s> not special </s>", "▁already▁escaped",
                "def f(x):\n    return x * 2\n", "{\"json\": [1, 2, 3]}", "ÆØÅ æøå ß", "a", " ", "  "));
        Random random = new Random(7);
        String alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789 .,;:!?'\"-_()[]{}\n\téüößçñ中文日本語한국어🦙😀";
        int[] codePoints = alphabet.codePoints().toArray();
        for (int i = 0; i < 300; i++) {
            StringBuilder text = new StringBuilder();
            int length = 1 + random.nextInt(60);
            for (int c = 0; c < length; c++) {
                text.appendCodePoint(codePoints[random.nextInt(codePoints.length)]);
            }
            texts.add(text.toString());
        }
        ObjectMapper json = new ObjectMapper();
        StringBuilder input = new StringBuilder();
        for (String text : texts) {
            input.append(json.writeValueAsString(text)).append('\n');
        }
        String[] lines = NodeReference.run("llama-tokenize.mjs", input.toString()).split("\n");
        assertThat(lines).hasSize(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            JsonNode expected = json.readTree(lines[i]);
            int[] ids = new int[expected.size()];
            for (int j = 0; j < ids.length; j++) {
                ids[j] = expected.get(j).asInt();
            }
            assertThat(tokenizer.encode(texts.get(i), true)).as("text %s", json.writeValueAsString(texts.get(i)))
                    .isEqualTo(ids);
        }
    }

    @Test
    void specialTokensInTextAreParsedOnlyWhenAskedAndNeverDoubleTheBos() {
        String text = "<s>[INST] Hi [/INST] Hello </s><s>[INST] More [/INST]";
        int[] plain = tokenizer.encode(text, true);
        assertThat(plain[0]).isEqualTo(1);
        assertThat(Arrays.copyOfRange(plain, 1, plain.length)).doesNotContain(1, 2);
        int[] parsed = tokenizer.encode(text, true, true);
        // The text's own <s> is the BOS; each raw piece after a special token gets the space prefix (llama.cpp).
        int[] expected = concat(new int[] {1}, tokenizer.encode("[INST] Hi [/INST] Hello ", false), new int[] {2, 1},
                tokenizer.encode("[INST] More [/INST]", false));
        assertThat(parsed).isEqualTo(expected);
        assertThat(tokenizer.encode(text, false, true)).isEqualTo(expected);
        assertThat(tokenizer.encode("Hi", true, true)).isEqualTo(tokenizer.encode("Hi", true));
        assertThat(tokenizer.encode("a<unk>b", false, true)).contains(0);
        assertThat(tokenizer.isEndOfGeneration(2)).isTrue();
        assertThat(tokenizer.isEndOfGeneration(1)).isFalse();
    }

    @Test
    void llama2ChatTemplateOutputTokenizedAsLlamaCppDoesWithTheIndependentTokenizerForTheRawText() throws Exception {
        // What Llama 2's chat template writes for a system message and two turns.
        String text = "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHello, who are you? [/INST] I am Llama. </s>"
                + "<s>[INST] Grüße 🦙 — and what is 2+2? [/INST]";
        List<String> raw = List.of("[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHello, who are you? [/INST] I am Llama. ",
                "[INST] Grüße 🦙 — and what is 2+2? [/INST]");
        ObjectMapper json = new ObjectMapper();
        StringBuilder input = new StringBuilder();
        for (String piece : raw) {
            input.append(json.writeValueAsString(piece)).append('\n');
        }
        String[] lines = NodeReference.run("llama-tokenize.mjs", input.toString()).split("\n");
        int[][] pieces = new int[lines.length][];
        for (int i = 0; i < lines.length; i++) {
            JsonNode ids = json.readTree(lines[i]);
            pieces[i] = new int[ids.size() - 1]; // without the reference's BOS
            for (int j = 1; j < ids.size(); j++) {
                pieces[i][j - 1] = ids.get(j).asInt();
            }
        }
        assertThat(tokenizer.encode(text, true, true))
                .isEqualTo(concat(new int[] {1}, pieces[0], new int[] {2, 1}, pieces[1]));
    }

    private static int[] concat(int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
    }

    @Test
    void pieceBytesOfByteTokensRebuildMultiByteCharacters() {
        int[] ids = tokenizer.encode("🦙", false);
        byte[] bytes = new byte[0];
        for (int id : Arrays.copyOfRange(ids, 1, ids.length)) {
            byte[] piece = tokenizer.pieceBytes(id);
            bytes = Arrays.copyOf(bytes, bytes.length + piece.length);
            System.arraycopy(piece, 0, bytes, bytes.length - piece.length, piece.length);
        }
        assertThat(new String(bytes, java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("🦙");
    }
}
