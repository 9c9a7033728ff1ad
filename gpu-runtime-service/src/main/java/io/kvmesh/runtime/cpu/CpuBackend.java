package io.kvmesh.runtime.cpu;

import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import io.kvmesh.runtime.engine.ForwardBackend;
import io.kvmesh.runtime.engine.ScheduledChunk;
import io.kvmesh.runtime.engine.SequenceState;
import io.kvmesh.runtime.kv.SequenceBlocks;
import io.kvmesh.runtime.model.KvStore;
import io.kvmesh.runtime.model.LlamaForward;
import io.kvmesh.runtime.model.LlamaModel;

/**
 * The {@code cpu} backend: real Llama arithmetic in Java (Vector API matmuls over all cores). K/V live in a paged
 * {@link KvStore} with one slot per token of every block of the engine's block pool, addressed through each
 * sequence's block table, so blocks reused from the prefix cache are read, not recomputed. Each sequence samples by
 * its request's parameters.
 */
public final class CpuBackend implements ForwardBackend {

    private final LlamaModel model;
    private final LlamaForward forward;
    private final KvStore store;
    private final int blockSize;
    private final Map<SequenceState, Integer> nextTokens = new IdentityHashMap<>();

    public CpuBackend(LlamaModel model, int blocks, int blockSize) {
        this.model = model;
        this.forward = new LlamaForward(model);
        this.blockSize = blockSize;
        this.store = new KvStore(model.config().layers(), Math.multiplyExact(blocks, blockSize), model.config().kvDim());
    }

    public KvStore store() {
        return store;
    }

    @Override
    public void forward(List<ScheduledChunk> chunks) {
        for (ScheduledChunk chunk : chunks) {
            SequenceState sequence = chunk.sequence();
            SequenceBlocks kv = sequence.kv();
            KvStore.Slots slots = position -> kv.block(position / blockSize) * blockSize + position % blockSize;
            int start = kv.computedTokens();
            int end = start + chunk.tokens();
            for (int position = start; position < end; position++) {
                boolean last = position == sequence.tokenCount() - 1;
                float[] logits = forward.forward(sequence.token(position), position, store, slots, last);
                if (last) {
                    nextTokens.put(sequence, sequence.sample(logits));
                }
            }
        }
    }

    @Override
    public int sampleNext(SequenceState sequence) {
        Integer token = nextTokens.remove(sequence);
        if (token == null) {
            throw new IllegalStateException("no logits computed for " + sequence.id());
        }
        return token;
    }

    @Override
    public int eosToken() {
        return model.tokenizer().eosId();
    }
}
