package io.kvmesh.runtime.engine;

import java.util.ArrayList;
import java.util.List;

import it.unimi.dsi.fastutil.ints.IntArrayList;

/**
 * An iteration's scheduled chunks as one list of tokens in schedule order: the sequence each belongs to, its id and
 * its position. A backend computes them in batches; a token wants logits when it is its sequence's last.
 */
public record ScheduledTokens(List<SequenceState> owners, int[] tokens, int[] positions) {

    public static ScheduledTokens of(List<ScheduledChunk> chunks) {
        List<SequenceState> owners = new ArrayList<>();
        IntArrayList tokens = new IntArrayList();
        IntArrayList positions = new IntArrayList();
        for (ScheduledChunk chunk : chunks) {
            SequenceState sequence = chunk.sequence();
            int start = sequence.kv().computedTokens();
            for (int position = start; position < start + chunk.tokens(); position++) {
                owners.add(sequence);
                tokens.add(sequence.token(position));
                positions.add(position);
            }
        }
        return new ScheduledTokens(owners, tokens.toIntArray(), positions.toIntArray());
    }

    public int size() {
        return tokens.length;
    }

    /** Whether token {@code i} is its sequence's last, whose logits give the next token. */
    public boolean wantsLogits(int i) {
        return positions[i] == owners.get(i).tokenCount() - 1;
    }
}
