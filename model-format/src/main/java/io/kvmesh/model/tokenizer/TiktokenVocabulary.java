package io.kvmesh.model.tokenizer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A real byte-level BPE vocabulary for generated models: the {@code cl100k_base} ranks shipped in JTokkit's jar (a
 * registry package), turned into the form GGUF stores, tokens in GPT-2's byte-level alphabet and the merge list, plus
 * control tokens. Merges are derived the way tiktoken-to-Hugging-Face converters do it: each multi-byte token is
 * split by running BPE with only lower-ranked merges, which leaves exactly two parts.
 */
public final class TiktokenVocabulary {

    /**
     * Llama 3's control tokens after its ordinary ones, by offset from the first ({@code <|begin_of_text|>} is 128000
     * in Llama 3): the chat tokens sit where Llama 3 has them, the rest are reserved.
     */
    static final String[] LLAMA3_CONTROL_TOKENS = {"<|begin_of_text|>", "<|end_of_text|>", null, null, null, null,
        "<|start_header_id|>", "<|end_header_id|>", null, "<|eot_id|>"};

    private final String[] tokens;
    private final int[] types;
    private final String[] merges;
    private final int firstControl;

    private TiktokenVocabulary(String[] tokens, int[] types, String[] merges, int firstControl) {
        this.tokens = tokens;
        this.types = types;
        this.merges = merges;
        this.firstControl = firstControl;
    }

    /**
     * cl100k_base's 100,256 tokens, then control tokens laid out as Llama 3's are: {@code <|begin_of_text|>},
     * {@code <|end_of_text|>}, {@code <|start_header_id|>} and {@code <|end_header_id|>} (+6, +7) and
     * {@code <|eot_id|>} (+9), and {@code <|reserved_special_token_N|>} in the other places up to
     * {@code vocabularySize} (Llama 3 pads its vocabulary the same way).
     */
    public static TiktokenVocabulary cl100k(int vocabularySize) {
        List<byte[]> ranked = loadRanks("/com/knuddels/jtokkit/cl100k_base.tiktoken");
        int minimum = ranked.size() + LLAMA3_CONTROL_TOKENS.length;
        if (vocabularySize < minimum) {
            throw new IllegalArgumentException("vocabulary size " + vocabularySize + " is below cl100k's " + ranked.size()
                    + " tokens and Llama 3's chat tokens (" + minimum + ")");
        }
        Map<ByteKey, Integer> ranks = new HashMap<>();
        for (int rank = 0; rank < ranked.size(); rank++) {
            ranks.put(new ByteKey(ranked.get(rank)), rank);
        }
        String[] tokens = new String[vocabularySize];
        int[] types = new int[vocabularySize];
        List<String> merges = new ArrayList<>();
        for (int rank = 0; rank < ranked.size(); rank++) {
            byte[] token = ranked.get(rank);
            tokens[rank] = ByteLevel.encode(token);
            types[rank] = SentencePieceTokenizer.NORMAL;
            if (token.length > 1) {
                List<byte[]> parts = bpe(ranks, token, rank);
                if (parts.size() != 2) {
                    throw new IllegalStateException("token of rank " + rank + " does not split into two parts");
                }
                merges.add(ByteLevel.encode(parts.get(0)) + " " + ByteLevel.encode(parts.get(1)));
            }
        }
        int reserved = 0;
        for (int id = ranked.size(); id < vocabularySize; id++) {
            int offset = id - ranked.size();
            String named = offset < LLAMA3_CONTROL_TOKENS.length ? LLAMA3_CONTROL_TOKENS[offset] : null;
            tokens[id] = named != null ? named : "<|reserved_special_token_" + reserved++ + "|>";
            types[id] = SentencePieceTokenizer.CONTROL;
        }
        return new TiktokenVocabulary(tokens, types, merges.toArray(String[]::new), ranked.size());
    }

    public String[] tokens() {
        return tokens;
    }

    public int[] types() {
        return types;
    }

    public String[] merges() {
        return merges;
    }

    /** {@code <|begin_of_text|>}. */
    public int bosId() {
        return firstControl;
    }

    /** {@code <|end_of_text|>}. */
    public int eosId() {
        return firstControl + 1;
    }

    /** {@code <|start_header_id|>}. */
    public int startHeaderId() {
        return firstControl + 6;
    }

    /** {@code <|end_header_id|>}. */
    public int endHeaderId() {
        return firstControl + 7;
    }

    /** {@code <|eot_id|>}: ends an assistant turn in Llama 3's chat format. */
    public int eotId() {
        return firstControl + 9;
    }

    /** BPE of {@code token} using only merges ranked below {@code maxRank}. */
    private static List<byte[]> bpe(Map<ByteKey, Integer> ranks, byte[] token, int maxRank) {
        List<byte[]> parts = new ArrayList<>();
        for (byte b : token) {
            parts.add(new byte[] {b});
        }
        while (true) {
            int best = -1;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < parts.size(); i++) {
                Integer rank = ranks.get(new ByteKey(concat(parts.get(i), parts.get(i + 1))));
                if (rank != null && rank < bestRank) {
                    bestRank = rank;
                    best = i;
                }
            }
            if (best < 0 || bestRank >= maxRank) {
                return parts;
            }
            parts.set(best, concat(parts.get(best), parts.remove(best + 1)));
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] joined = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, joined, a.length, b.length);
        return joined;
    }

    private static List<byte[]> loadRanks(String resource) {
        try (InputStream in = TiktokenVocabulary.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(resource + " is missing from the class path (the jtokkit jar)");
            }
            List<byte[]> ranked = new ArrayList<>();
            BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                if (line.isBlank()) {
                    continue;
                }
                String[] fields = line.split(" ");
                int rank = Integer.parseInt(fields[1]);
                if (rank != ranked.size()) {
                    throw new IllegalStateException(resource + ": ranks are not contiguous at " + rank);
                }
                ranked.add(Base64.getDecoder().decode(fields[0]));
            }
            return ranked;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private record ByteKey(byte[] bytes) {
        @Override
        public boolean equals(Object o) {
            return o instanceof ByteKey other && Arrays.equals(bytes, other.bytes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bytes);
        }
    }
}
