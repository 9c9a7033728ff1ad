package io.kvmesh.model.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.kvmesh.model.gguf.GgufFile;
import io.kvmesh.model.gguf.GgufFormatException;

/**
 * Byte-level BPE from GGUF metadata ({@code tokenizer.ggml.model = gpt2}), as llama.cpp's {@code llm_tokenizer_bpe}:
 * the text is split by the model family's pre-tokenizer regex ({@code tokenizer.ggml.pre}), each piece's UTF-8 bytes
 * are written in GPT-2's byte-level alphabet, and adjacent symbols are merged lowest merge rank first
 * ({@code tokenizer.ggml.merges}). As in llama.cpp, the text is first split around user-defined tokens (and, with
 * special-token parsing, control tokens), and each remaining piece is pre-tokenized on its own. Control tokens in the
 * text are plain text without special-token parsing (llama.cpp's default).
 */
public final class ByteLevelBpeTokenizer implements Tokenizer {

    /** Llama 3's pre-tokenizer ({@code llama-bpe}), the cl100k_base pattern. */
    public static final String LLAMA3_PATTERN = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
            + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    /** GPT-2's original pre-tokenizer ({@code gpt2} / {@code default}). */
    public static final String GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    private final String[] tokens;
    private final int[] types;
    private final Map<String, Integer> ids = new HashMap<>();
    private final Map<String, Integer> mergeRanks = new HashMap<>();
    private final Pattern preTokenizer;
    private final int bos;
    private final int eos;
    private final boolean addBos;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();
    private final SpecialTokens specials;
    private final Set<Integer> endOfGeneration;

    public ByteLevelBpeTokenizer(String[] tokens, int[] types, String[] merges, String pattern, int bos, int eos, boolean addBos) {
        this(tokens, types, merges, pattern, bos, eos, addBos, new int[0]);
    }

    /** {@code endOfTurn}: more ids that end generation ({@code tokenizer.ggml.eot_token_id}, {@code eom_token_id}). */
    public ByteLevelBpeTokenizer(String[] tokens, int[] types, String[] merges, String pattern, int bos, int eos,
                                 boolean addBos, int[] endOfTurn) {
        this.tokens = tokens;
        this.types = types;
        this.bos = bos;
        this.eos = eos;
        this.addBos = addBos;
        for (int id = 0; id < tokens.length; id++) {
            ids.put(tokens[id], id);
        }
        for (int rank = 0; rank < merges.length; rank++) {
            int space = merges[rank].indexOf(' ', 1);
            if (space < 0) {
                throw new IllegalArgumentException("merge #" + rank + " \"" + merges[rank] + "\" is not two symbols");
            }
            mergeRanks.putIfAbsent(merges[rank], rank);
        }
        this.preTokenizer = Pattern.compile(pattern, Pattern.UNICODE_CHARACTER_CLASS);
        this.specials = new SpecialTokens(tokens, types);
        this.endOfGeneration = SpecialTokens.endOfGeneration(tokens, eos, endOfTurn);
    }

    public static ByteLevelBpeTokenizer fromGguf(GgufFile gguf) {
        String[] tokens = gguf.strings("tokenizer.ggml.tokens");
        int[] types = gguf.has("tokenizer.ggml.token_type")
                ? Arrays.stream(gguf.integers("tokenizer.ggml.token_type")).mapToInt(t -> (int) t).toArray()
                : new int[tokens.length];
        String pre = gguf.has("tokenizer.ggml.pre") ? gguf.string("tokenizer.ggml.pre") : "default";
        String pattern = switch (pre) {
            case "llama-bpe", "llama3", "dbrx", "smaug-bpe" -> LLAMA3_PATTERN;
            case "default", "gpt2", "gpt-2" -> GPT2_PATTERN;
            default -> throw new GgufFormatException(0, "tokenizer.ggml.pre", "pre-tokenizer \"" + pre
                    + "\" is not supported (llama-bpe and gpt2 are)");
        };
        return new ByteLevelBpeTokenizer(tokens, types, gguf.strings("tokenizer.ggml.merges"), pattern,
                (int) gguf.integer("tokenizer.ggml.bos_token_id"), (int) gguf.integer("tokenizer.ggml.eos_token_id"),
                gguf.bool("tokenizer.ggml.add_bos_token", true), SentencePieceTokenizer.endOfTurnIds(gguf));
    }

    @Override
    public int[] encode(String text, boolean withBos, boolean parseSpecial) {
        List<Integer> output = new ArrayList<>();
        List<SpecialTokens.Fragment> fragments = specials.partition(text, parseSpecial);
        boolean textStartsWithBos = !fragments.isEmpty() && fragments.get(0).token() == bos;
        if (withBos && addBos && !textStartsWithBos) {
            output.add(bos);
        }
        for (SpecialTokens.Fragment fragment : fragments) {
            if (fragment.special()) {
                output.add(fragment.token());
                continue;
            }
            Matcher matcher = preTokenizer.matcher(fragment.text());
            while (matcher.find()) {
                for (int id : cache.computeIfAbsent(matcher.group(), this::encodeWord)) {
                    output.add(id);
                }
            }
        }
        return output.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public boolean isEndOfGeneration(int tokenId) {
        return endOfGeneration.contains(tokenId);
    }

    private int[] encodeWord(String word) {
        String symbolsText = ByteLevel.encode(word.getBytes(StandardCharsets.UTF_8));
        List<String> symbols = new ArrayList<>(symbolsText.length());
        for (int i = 0; i < symbolsText.length(); i++) {
            symbols.add(String.valueOf(symbolsText.charAt(i)));
        }
        while (symbols.size() > 1) {
            int best = -1;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < symbols.size(); i++) {
                Integer rank = mergeRanks.get(symbols.get(i) + " " + symbols.get(i + 1));
                if (rank != null && rank < bestRank) {
                    bestRank = rank;
                    best = i;
                }
            }
            if (best < 0) {
                break;
            }
            symbols.set(best, symbols.get(best) + symbols.remove(best + 1));
        }
        int[] result = new int[symbols.size()];
        for (int i = 0; i < result.length; i++) {
            Integer id = ids.get(symbols.get(i));
            if (id == null) {
                throw new IllegalStateException("symbol \"" + symbols.get(i) + "\" is not in the vocabulary");
            }
            result[i] = id;
        }
        return result;
    }

    @Override
    public byte[] pieceBytes(int tokenId) {
        if (tokenId < 0 || tokenId >= tokens.length) {
            throw new IllegalArgumentException("token id " + tokenId + " is outside the vocabulary of " + tokens.length);
        }
        if (types[tokenId] == SentencePieceTokenizer.CONTROL) {
            return new byte[0];
        }
        return ByteLevel.decode(tokens[tokenId]);
    }

    @Override
    public int bosId() {
        return bos;
    }

    @Override
    public int eosId() {
        return eos;
    }

    @Override
    public int vocabularySize() {
        return tokens.length;
    }
}
