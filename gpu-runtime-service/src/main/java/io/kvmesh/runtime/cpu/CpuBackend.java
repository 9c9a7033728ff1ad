package io.kvmesh.runtime.cpu;

import java.util.Arrays;
import java.util.List;

import io.kvmesh.runtime.engine.ForwardBackend;
import io.kvmesh.runtime.engine.NextTokens;
import io.kvmesh.runtime.engine.ScheduledChunk;
import io.kvmesh.runtime.engine.ScheduledTokens;
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
    private final KvStore hostStore;
    private final int blockSize;
    /** Tokens per forward call at most: bounds the activation memory of one call. */
    static final int MAX_BATCH = 64;

    private final NextTokens nextTokens = new NextTokens();

    public CpuBackend(LlamaModel model, int blocks, int blockSize) {
        this(model, blocks, 0, blockSize);
    }

    /**
     * @param hostBlocks blocks of the host tier (swapped-out KV, kept in a second store: on {@code cpu} both tiers
     *                   are host memory, and a swap is a real copy between them)
     */
    public CpuBackend(LlamaModel model, int blocks, int hostBlocks, int blockSize) {
        this.model = model;
        this.forward = new LlamaForward(model);
        this.blockSize = blockSize;
        this.store = new KvStore(model.config().layers(), Math.multiplyExact(blocks, blockSize), model.config().kvDim());
        this.hostStore = hostBlocks == 0 ? null
                : new KvStore(model.config().layers(), Math.multiplyExact(hostBlocks, blockSize), model.config().kvDim());
    }

    @Override
    public void copyToHost(int[] deviceBlocks, int[] hostBlocks) {
        copy(store, deviceBlocks, hostStore(), hostBlocks);
    }

    @Override
    public void copyToDevice(int[] hostBlocks, int[] deviceBlocks) {
        copy(hostStore(), hostBlocks, store, deviceBlocks);
    }

    private KvStore hostStore() {
        if (hostStore == null) {
            throw new UnsupportedOperationException("this cpu backend was built without host blocks");
        }
        return hostStore;
    }

    private void copy(KvStore from, int[] fromBlocks, KvStore to, int[] toBlocks) {
        for (int i = 0; i < fromBlocks.length; i++) {
            from.copySlots(fromBlocks[i] * blockSize, to, toBlocks[i] * blockSize, blockSize);
        }
    }

    public KvStore store() {
        return store;
    }

    /** Every scheduled token of the iteration in batches of at most {@link #MAX_BATCH}, one weight pass per batch. */
    @Override
    public void forward(List<ScheduledChunk> chunks) {
        ScheduledTokens scheduled = ScheduledTokens.of(chunks);
        int[] tokens = scheduled.tokens();
        int[] positions = scheduled.positions();
        KvStore.Slots[] slots = new KvStore.Slots[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            SequenceBlocks kv = scheduled.owners().get(i).kv();
            slots[i] = i > 0 && scheduled.owners().get(i - 1) == scheduled.owners().get(i) ? slots[i - 1]
                    : position -> kv.block(position / blockSize) * blockSize + position % blockSize;
        }
        for (int from = 0; from < tokens.length; from += MAX_BATCH) {
            int to = Math.min(tokens.length, from + MAX_BATCH);
            boolean[] want = new boolean[to - from];
            for (int i = from; i < to; i++) {
                want[i - from] = scheduled.wantsLogits(i);
            }
            float[][] logits = forward.forward(Arrays.copyOfRange(tokens, from, to), Arrays.copyOfRange(positions, from, to),
                    Arrays.copyOfRange(slots, from, to), want, store);
            for (int i = from; i < to; i++) {
                if (want[i - from]) {
                    SequenceState owner = scheduled.owners().get(i);
                    nextTokens.sample(owner, logits[i - from]);
                }
            }
        }
    }

    @Override
    public int sampleNext(SequenceState sequence) {
        return nextTokens.take(sequence);
    }

    @Override
    public boolean endsGeneration(int token) {
        return model.tokenizer().isEndOfGeneration(token);
    }
}
