package io.kvmesh.model.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The vocabulary's special tokens and how text is split around them, as llama.cpp's {@code tokenizer_st_partition}
 * does: candidates are the control, unknown and user-defined tokens, longest text first; each in turn splits every
 * still-raw part of the text at its leftmost non-overlapping occurrences. User-defined tokens are always matched;
 * control and unknown tokens only with special-token parsing ({@code parse_special}), which is how llama.cpp tokenizes
 * the output of a chat template. Also the end-of-generation set (llama.cpp's {@code special_eog_ids}).
 */
final class SpecialTokens {

    /** One piece of partitioned text: raw text to tokenize ({@code token < 0}) or a special token's id. */
    record Fragment(String text, int token) {
        boolean special() {
            return token >= 0;
        }
    }

    /** A candidate; {@code rank} is its place in llama.cpp's order (longest text first, then by id). */
    private record Special(String text, int id, boolean alwaysMatched, int rank) {
    }

    /**
     * Token texts llama.cpp treats as ending generation whatever the metadata says (its {@code special_eog_ids}
     * heuristic): Llama 3's {@code <|eot_id|>}, ChatML's {@code <|im_end|>}, Gemma's {@code <end_of_turn>}, …
     */
    static final Set<String> END_OF_GENERATION_TEXTS = Set.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>",
            "<|call|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>",
            "<end_of_utterance>");

    /** Candidates by their first character, each list longest first (then by id). */
    private final Map<Character, List<Special>> byFirstChar = new HashMap<>();
    private final boolean anyAlwaysMatched;
    private final boolean anyParsed;

    SpecialTokens(String[] tokens, int[] types) {
        List<Special> specials = new ArrayList<>();
        for (int id = 0; id < tokens.length; id++) {
            int type = types[id];
            if ((type == SentencePieceTokenizer.CONTROL || type == SentencePieceTokenizer.UNKNOWN
                    || type == SentencePieceTokenizer.USER_DEFINED) && !tokens[id].isEmpty()) {
                specials.add(new Special(tokens[id], id, type == SentencePieceTokenizer.USER_DEFINED, 0));
            }
        }
        specials.sort(Comparator.comparingInt((Special s) -> s.text.length()).reversed());
        boolean always = false;
        for (int i = 0; i < specials.size(); i++) {
            Special special = specials.get(i);
            special = new Special(special.text, special.id, special.alwaysMatched, i);
            byFirstChar.computeIfAbsent(special.text.charAt(0), c -> new ArrayList<>()).add(special);
            always |= special.alwaysMatched;
        }
        anyAlwaysMatched = always;
        anyParsed = !specials.isEmpty();
    }

    /** {@code text} split into raw parts and special tokens; with {@code parseSpecial} control tokens count too. */
    List<Fragment> partition(String text, boolean parseSpecial) {
        if (text.isEmpty()) {
            return List.of();
        }
        if (!(parseSpecial ? anyParsed : anyAlwaysMatched)) {
            return List.of(new Fragment(text, -1));
        }
        // Every occurrence of a candidate, found in one pass over the text.
        List<int[]> occurrences = new ArrayList<>();
        List<Special> candidates = new ArrayList<>();
        for (int at = 0; at < text.length(); at++) {
            List<Special> starting = byFirstChar.get(text.charAt(at));
            if (starting == null) {
                continue;
            }
            for (Special special : starting) {
                if ((parseSpecial || special.alwaysMatched) && text.startsWith(special.text, at)) {
                    occurrences.add(new int[] {special.rank, at});
                    candidates.add(special);
                }
            }
        }
        if (occurrences.isEmpty()) {
            return List.of(new Fragment(text, -1));
        }
        // llama.cpp's order: candidate by candidate (longest first), each occurrence left to right, an occurrence
        // taken when no earlier-taken token covers any of its characters.
        Integer[] order = new Integer[occurrences.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingInt((Integer i) -> occurrences.get(i)[0])
                .thenComparingInt(i -> occurrences.get(i)[1]));
        boolean[] covered = new boolean[text.length()];
        Special[] startsHere = new Special[text.length()];
        for (int i : order) {
            Special special = candidates.get(i);
            int at = occurrences.get(i)[1];
            boolean free = true;
            for (int c = at; c < at + special.text.length() && free; c++) {
                free = !covered[c];
            }
            if (free) {
                Arrays.fill(covered, at, at + special.text.length(), true);
                startsHere[at] = special;
            }
        }
        List<Fragment> fragments = new ArrayList<>();
        int raw = 0;
        for (int at = 0; at < text.length(); ) {
            Special special = startsHere[at];
            if (special == null) {
                at++;
                continue;
            }
            if (at > raw) {
                fragments.add(new Fragment(text.substring(raw, at), -1));
            }
            fragments.add(new Fragment(special.text, special.id));
            at += special.text.length();
            raw = at;
        }
        if (raw < text.length()) {
            fragments.add(new Fragment(text.substring(raw), -1));
        }
        return fragments;
    }

    /** llama.cpp's end-of-generation ids: EOS, the metadata's EOT/EOM ids and the known end-of-turn token texts. */
    static Set<Integer> endOfGeneration(String[] tokens, int eos, int... more) {
        Set<Integer> ids = new HashSet<>();
        if (eos >= 0) {
            ids.add(eos);
        }
        for (int id : more) {
            if (id >= 0 && id < tokens.length) {
                ids.add(id);
            }
        }
        for (int id = 0; id < tokens.length; id++) {
            if (END_OF_GENERATION_TEXTS.contains(tokens[id])) {
                ids.add(id);
            }
        }
        return Set.copyOf(ids);
    }
}
