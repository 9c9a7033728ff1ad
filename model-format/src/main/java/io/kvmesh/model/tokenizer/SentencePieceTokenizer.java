package io.kvmesh.model.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

import io.kvmesh.model.gguf.GgufFile;

/**
 * SentencePiece-style tokenization from GGUF metadata ({@code tokenizer.ggml.model = llama}), exactly as llama.cpp's
 * {@code llm_tokenizer_spm} does it: a space is prepended to the text (unless {@code add_space_prefix} is false) and
 * every space becomes {@code ▁}; the text is split into UTF-8 characters; adjacent symbols are merged, highest vocab
 * score first (leftmost on ties), while the merged text is a token; symbols that are not tokens fall back to
 * {@code <0xXX>} byte tokens. Special (control) tokens in the text are plain text, as llama.cpp does by default;
 * user-defined tokens are matched. With special-token parsing (chat templates) control tokens are matched too, and a
 * raw piece after any matched token gets the space prefix again (llama.cpp's {@code is_prev_special}). An empty text
 * gives only BOS.
 */
public final class SentencePieceTokenizer implements Tokenizer {

    /** GGUF {@code tokenizer.ggml.token_type} values. */
    static final int NORMAL = 1;
    static final int UNKNOWN = 2;
    static final int CONTROL = 3;
    static final int USER_DEFINED = 4;
    static final int BYTE = 6;

    private final String[] tokens;
    private final float[] scores;
    private final int[] types;
    private final Map<String, Integer> ids = new HashMap<>();
    private final int[] byteTokens = new int[256];
    private final SpecialTokens specials;
    private final Set<Integer> endOfGeneration;
    private final int bos;
    private final int eos;
    private final int unknown;
    private final boolean addSpacePrefix;

    public SentencePieceTokenizer(String[] tokens, float[] scores, int[] types, int bos, int eos, int unknown,
                                  boolean addSpacePrefix) {
        this(tokens, scores, types, bos, eos, unknown, addSpacePrefix, new int[0]);
    }

    /** {@code endOfTurn}: more ids that end generation ({@code tokenizer.ggml.eot_token_id}, {@code eom_token_id}). */
    public SentencePieceTokenizer(String[] tokens, float[] scores, int[] types, int bos, int eos, int unknown,
                                  boolean addSpacePrefix, int[] endOfTurn) {
        if (scores.length != tokens.length || types.length != tokens.length) {
            throw new IllegalArgumentException("tokens, scores and token types differ in length: "
                    + tokens.length + ", " + scores.length + ", " + types.length);
        }
        this.tokens = tokens;
        this.scores = scores;
        this.types = types;
        this.bos = bos;
        this.eos = eos;
        this.unknown = unknown;
        this.addSpacePrefix = addSpacePrefix;
        for (int id = 0; id < tokens.length; id++) {
            ids.put(tokens[id], id); // a later duplicate wins, as in llama.cpp's token_to_id
        }
        this.specials = new SpecialTokens(tokens, types);
        this.endOfGeneration = SpecialTokens.endOfGeneration(tokens, eos, endOfTurn);
        for (int b = 0; b < 256; b++) {
            Integer id = ids.get(String.format("<0x%02X>", b));
            if (id == null) {
                id = ids.get(new String(new byte[] {(byte) b}, StandardCharsets.ISO_8859_1));
            }
            byteTokens[b] = id == null ? unknown : id;
        }
    }

    /** The tokenizer a GGUF file describes; fails naming the key when its metadata is missing or wrong. */
    public static SentencePieceTokenizer fromGguf(GgufFile gguf) {
        String[] tokens = gguf.strings("tokenizer.ggml.tokens");
        float[] scores = gguf.has("tokenizer.ggml.scores") ? gguf.floats("tokenizer.ggml.scores") : new float[tokens.length];
        int[] types = gguf.has("tokenizer.ggml.token_type")
                ? Arrays.stream(gguf.integers("tokenizer.ggml.token_type")).mapToInt(t -> (int) t).toArray()
                : filled(tokens.length, NORMAL);
        return new SentencePieceTokenizer(tokens, scores, types,
                (int) gguf.integer("tokenizer.ggml.bos_token_id", 1),
                (int) gguf.integer("tokenizer.ggml.eos_token_id", 2),
                (int) gguf.integer("tokenizer.ggml.unknown_token_id", 0),
                gguf.bool("tokenizer.ggml.add_space_prefix", true), endOfTurnIds(gguf));
    }

    /** {@code tokenizer.ggml.eot_token_id} and {@code eom_token_id}, where the file has them. */
    static int[] endOfTurnIds(GgufFile gguf) {
        return new int[] {(int) gguf.integer("tokenizer.ggml.eot_token_id", -1),
                (int) gguf.integer("tokenizer.ggml.eom_token_id", -1)};
    }

    private static int[] filled(int length, int value) {
        int[] array = new int[length];
        Arrays.fill(array, value);
        return array;
    }

    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        List<Integer> output = new ArrayList<>();
        List<SpecialTokens.Fragment> fragments = specials.partition(text, parseSpecial);
        boolean textStartsWithBos = !fragments.isEmpty() && fragments.get(0).token() == bos;
        if (addBos && !textStartsWithBos) {
            output.add(bos);
        }
        boolean previousSpecial = true;
        for (SpecialTokens.Fragment fragment : fragments) {
            if (fragment.special()) {
                output.add(fragment.token());
                previousSpecial = true;
            } else {
                String raw = (addSpacePrefix && previousSpecial ? " " : "") + fragment.text();
                tokenize(raw.replace(' ', '\u2581'), output);
                previousSpecial = false;
            }
        }
        return output.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public boolean isEndOfGeneration(int tokenId) {
        return endOfGeneration.contains(tokenId);
    }

    /** One symbol of the merge chain: a byte range of the UTF-8 text. */
    private static final class Symbol {
        int start;
        int length;
        int prev;
        int next;
    }

    private record Bigram(int left, int right, float score, int size) {
    }

    private void tokenize(String text, List<Integer> output) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        List<Symbol> symbols = new ArrayList<>();
        for (int offset = 0; offset < utf8.length; ) {
            Symbol symbol = new Symbol();
            symbol.start = offset;
            symbol.length = Math.min(utf8Length(utf8[offset]), utf8.length - offset);
            offset += symbol.length;
            symbol.prev = symbols.size() - 1;
            symbol.next = offset == utf8.length ? -1 : symbols.size() + 1;
            symbols.add(symbol);
        }
        // Highest score first; on equal scores the leftmost pair (llama.cpp's comparator).
        PriorityQueue<Bigram> queue = new PriorityQueue<>((l, r) -> l.score != r.score
                ? Float.compare(r.score, l.score) : Integer.compare(l.left, r.left));
        Map<String, int[]> reverseMerge = new HashMap<>();
        for (int i = 1; i < symbols.size(); i++) {
            tryBigram(symbols, utf8, i - 1, i, queue, reverseMerge);
        }
        while (!queue.isEmpty()) {
            Bigram bigram = queue.poll();
            Symbol left = symbols.get(bigram.left);
            Symbol right = symbols.get(bigram.right);
            if (left.length == 0 || right.length == 0 || left.length + right.length != bigram.size) {
                continue;
            }
            left.length += right.length;
            right.length = 0;
            left.next = right.next;
            if (right.next >= 0) {
                symbols.get(right.next).prev = bigram.left;
            }
            tryBigram(symbols, utf8, left.prev, bigram.left, queue, reverseMerge);
            tryBigram(symbols, utf8, bigram.left, left.next, queue, reverseMerge);
        }
        for (int i = symbols.isEmpty() ? -1 : 0; i != -1; i = symbols.get(i).next) {
            resegment(symbols, symbols.get(i), utf8, reverseMerge, output);
        }
    }

    private void tryBigram(List<Symbol> symbols, byte[] utf8, int left, int right, PriorityQueue<Bigram> queue,
                           Map<String, int[]> reverseMerge) {
        if (left == -1 || right == -1) {
            return;
        }
        Symbol l = symbols.get(left);
        Symbol r = symbols.get(right);
        String text = new String(utf8, l.start, l.length + r.length, StandardCharsets.UTF_8);
        Integer id = ids.get(text);
        if (id == null || id >= tokens.length) {
            return;
        }
        queue.add(new Bigram(left, right, scores[id], l.length + r.length));
        reverseMerge.put(text, new int[] {left, right});
    }

    private void resegment(List<Symbol> symbols, Symbol symbol, byte[] utf8, Map<String, int[]> reverseMerge, List<Integer> output) {
        String text = new String(utf8, symbol.start, symbol.length, StandardCharsets.UTF_8);
        Integer id = ids.get(text);
        if (id != null) {
            output.add(id);
            return;
        }
        int[] parts = reverseMerge.get(text);
        if (parts == null) {
            for (int i = 0; i < symbol.length; i++) {
                output.add(byteTokens[utf8[symbol.start + i] & 0xFF]);
            }
            return;
        }
        resegment(symbols, symbols.get(parts[0]), utf8, reverseMerge, output);
        resegment(symbols, symbols.get(parts[1]), utf8, reverseMerge, output);
    }

    private static int utf8Length(byte first) {
        int lookup = (first & 0xFF) >> 4;
        return new int[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4}[lookup];
    }

    /** ▁ becomes a space, byte tokens their byte, control tokens nothing. */
    @Override
    public byte[] pieceBytes(int id) {
        if (id < 0 || id >= tokens.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary of " + tokens.length);
        }
        return switch (types[id]) {
            case BYTE -> new byte[] {(byte) Integer.parseInt(tokens[id].substring(3, 5), 16)};
            case CONTROL -> new byte[0];
            case UNKNOWN -> "\u2585".getBytes(StandardCharsets.UTF_8);
            default -> tokens[id].replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8);
        };
    }

    public String token(int id) {
        return tokens[id];
    }

    @Override
    public int bosId() {
        return bos;
    }

    @Override
    public int eosId() {
        return eos;
    }

    public int unknownId() {
        return unknown;
    }

    @Override
    public int vocabularySize() {
        return tokens.length;
    }
}
