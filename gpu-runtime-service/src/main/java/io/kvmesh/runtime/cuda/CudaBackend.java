package io.kvmesh.runtime.cuda;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import it.unimi.dsi.fastutil.ints.IntArrayList;

import io.kvmesh.runtime.cuda.GpuDevice.Address;
import io.kvmesh.runtime.cuda.GpuDevice.Queue;
import io.kvmesh.runtime.engine.ForwardBackend;
import io.kvmesh.runtime.engine.NextTokens;
import io.kvmesh.runtime.engine.ScheduledChunk;
import io.kvmesh.runtime.engine.ScheduledTokens;
import io.kvmesh.runtime.engine.SequenceState;
import io.kvmesh.runtime.model.LlamaConfig;
import io.kvmesh.runtime.model.LlamaModel;
import io.kvmesh.runtime.model.RotaryTable;
import io.kvmesh.runtime.model.WeightMatrix;

/**
 * The {@code cuda} backend: the cpu backend's arithmetic as kernels ({@code src/main/cuda/kvmesh.cu}) on device 0,
 * through JCuda's driver API ({@link JCudaDevice}; tests also run it on an emulated {@link GpuDevice}). Weights are uploaded once in their GGUF storage type and dequantized inside the matmul
 * kernels; the KV block pool lives in device memory with the cpu backend's layout (per layer, one slot of
 * {@code kvDim} floats per token of every block), read through each sequence's block table by the paged attention
 * kernels (split-context decode, query-tiled prefill); the host tier is pinned host memory mapped into the device's
 * address space, so a swap is one kernel launch on a stream of its own that the next forward pass waits for — the
 * engine's bookkeeping on the host overlaps it. Embedding rows and the rotary table are computed on the host (a
 * lookup and the cpu backend's exact cos/sin), logits are sampled on the host. Not thread-safe: the engine thread.
 */
public final class CudaBackend implements ForwardBackend, AutoCloseable {

    /** Tokens per forward pass at most: bounds the activation buffers. */
    public static final int MAX_BATCH = 256;
    /** Rows of logits brought back per copy: bounds the pinned buffer (a vocabulary of 128K is 512 KB a row). */
    private static final int LOGIT_ROWS = 32;
    /** Decode attention splits a context into at most this many parts of at least MIN_PART_TOKENS. */
    private static final int MAX_PARTS = 32;
    private static final int MIN_PART_TOKENS = 256;
    // Launch shapes: must match kvmesh.cu's defines.
    private static final int MATMUL_ROWS = 4;
    private static final int MATMUL_BATCH = 8;
    private static final int ATTENTION_WARPS = 4;
    private static final int PREFILL_QUERIES = 8;
    private static final int PREFILL_KEYS = 16;
    private static final int MAX_HEAD_DIM = 256;

    private final LlamaModel model;
    private final LlamaConfig c;
    private final RotaryTable rotary;
    private final int blockSize;
    private final int blocks;
    private final int hostBlocks;
    private final int maxTableLength;
    /** The attention entry points for this head dimension (registers sized to it: 64, 128 or 256). */
    private final String decodeKernel;
    private final String prefillKernel;

    private final GpuDevice device;

    private DeviceMatrix tokenOutput;
    private Address outputNorm;
    private DeviceLayer[] layers;
    /** The KV pools: [layer][slot][kvDim] floats; the host tier's the same through its device-mapped address. */
    private Address keyCache;
    private Address valueCache;
    private Address hostKeys;
    private Address hostValues;

    private Address x;
    private Address xb;
    private Address xb2;
    private Address q;
    private Address k;
    private Address v;
    private Address hb;
    private Address hb2;
    private Address logits;
    private Address partials;
    /** Per-batch inputs, uploaded from {@link #staging} in one copy: see {@link Inputs}. */
    private Address inputs;
    private ByteBuffer staging;
    private ByteBuffer logitsHost;
    private Address swapIds;
    private ByteBuffer swapIdsHost;
    private int swapIdCapacity;

    private final NextTokens nextTokens = new NextTokens();

    private record DeviceMatrix(Address data, String kernel, int rows, int cols) {
    }

    private record DeviceLayer(Address attentionNorm, DeviceMatrix wq, DeviceMatrix wk, DeviceMatrix wv,
                               DeviceMatrix wo, Address ffnNorm, DeviceMatrix gate, DeviceMatrix up,
                               DeviceMatrix down) {
    }

    /**
     * @param blocks     KV blocks of the device pool
     * @param hostBlocks KV blocks of the host tier (0: none)
     * @throws IllegalStateException when no usable device is here ({@link CudaProbe#availability()}'s reason) or the
     *                               device's memory cannot hold the weights and the pools (sizes named)
     */
    public CudaBackend(LlamaModel model, int blocks, int hostBlocks, int blockSize) {
        this(model, blocks, hostBlocks, blockSize, openDevice());
    }

    private static GpuDevice openDevice() {
        CudaAvailability availability = CudaProbe.availability();
        if (!availability.available()) {
            throw new IllegalStateException("the cuda backend cannot run here: " + availability.reason());
        }
        try {
            return JCudaDevice.open();
        } catch (RuntimeException e) {
            throw new IllegalStateException("the cuda backend could not start on " + availability.device() + ": " + e.getMessage(), e);
        }
    }

    /** On {@code device}, which this backend closes with itself. */
    CudaBackend(LlamaModel model, int blocks, int hostBlocks, int blockSize, GpuDevice device) {
        this.device = device;
        this.model = model;
        this.c = model.config();
        this.rotary = new RotaryTable(model);
        this.blockSize = blockSize;
        this.blocks = blocks;
        this.hostBlocks = hostBlocks;
        int headDims = c.headDim() <= 64 ? 64 : c.headDim() <= 128 ? 128 : 256;
        this.decodeKernel = "attention_decode_" + headDims;
        this.prefillKernel = "attention_prefill_" + headDims;
        int maxPositions = (int) Math.min(c.contextLength(), (long) blocks * blockSize);
        this.maxTableLength = (maxPositions + blockSize - 1) / blockSize;
        try {
            if (c.headDim() > MAX_HEAD_DIM) {
                throw new IllegalArgumentException("head dimension " + c.headDim() + " is above the cuda kernels' " + MAX_HEAD_DIM);
            }
            device.makeCurrent();
            upload();
            allocatePools();
            allocateActivations();
            device.synchronize(Queue.COMPUTE);
        } catch (RuntimeException e) {
            device.close();
            throw new IllegalStateException("the cuda backend could not start: " + e.getMessage()
                    + String.format(Locale.ROOT, " (weights %.1f MB, KV pool %.1f MB, host tier %.1f MB)",
                    weightBytes(model) / 1e6, blockBytes() * blocks / 1e6, blockBytes() * hostBlocks / 1e6), e);
        }
    }

    /** Device bytes one KV block takes (K and V, float32, all layers). */
    public long blockBytes() {
        return 2L * Float.BYTES * blockSize * c.layers() * c.kvDim();
    }

    private static long weightBytes(LlamaModel model) {
        long bytes = model.tokenEmbedding().bytes().byteSize();
        if (model.output() != model.tokenEmbedding()) {
            bytes += model.output().bytes().byteSize();
        }
        for (int l = 0; l < model.config().layers(); l++) {
            LlamaModel.Layer layer = model.layer(l);
            for (WeightMatrix m : new WeightMatrix[] {layer.wq(), layer.wk(), layer.wv(), layer.wo(), layer.gate(), layer.up(), layer.down()}) {
                bytes += m.bytes().byteSize();
            }
        }
        return bytes;
    }

    private void upload() {
        // The embedding stays on the host (one row per token is looked up there); the output matrix is uploaded.
        tokenOutput = matrix(model.output());
        outputNorm = floats(model.outputNorm());
        layers = new DeviceLayer[c.layers()];
        for (int l = 0; l < layers.length; l++) {
            LlamaModel.Layer layer = model.layer(l);
            layers[l] = new DeviceLayer(floats(layer.attentionNorm()), matrix(layer.wq()), matrix(layer.wk()), matrix(layer.wv()),
                    matrix(layer.wo()), floats(layer.ffnNorm()), matrix(layer.gate()), matrix(layer.up()), matrix(layer.down()));
        }
    }

    private DeviceMatrix matrix(WeightMatrix matrix) {
        MemorySegment bytes = matrix.bytes();
        Address data = device.allocate(bytes.byteSize());
        device.upload(data, bytes);
        return new DeviceMatrix(data, "matmul_" + matrix.type().name().toLowerCase(Locale.ROOT), matrix.rows(), matrix.cols());
    }

    private Address floats(float[] values) {
        Address data = device.allocate((long) values.length * Float.BYTES);
        device.upload(data, MemorySegment.ofArray(values));
        return data;
    }

    private long layerFloats(int poolBlocks) {
        return (long) poolBlocks * blockSize * c.kvDim();
    }

    private void allocatePools() {
        long poolBytes = layerFloats(blocks) * c.layers() * Float.BYTES;
        keyCache = device.allocate(poolBytes);
        valueCache = device.allocate(poolBytes);
        // Zeroed, so attention over a block that was never written reads numbers, not NaNs.
        device.fill(keyCache, 0, poolBytes / Float.BYTES, Queue.COMPUTE);
        device.fill(valueCache, 0, poolBytes / Float.BYTES, Queue.COMPUTE);
        if (hostBlocks > 0) {
            long hostBytes = layerFloats(hostBlocks) * c.layers() * Float.BYTES;
            hostKeys = device.allocateMappedHost(hostBytes);
            hostValues = device.allocateMappedHost(hostBytes);
        }
    }

    private void allocateActivations() {
        long n = MAX_BATCH;
        x = device.allocate(n * c.dim() * Float.BYTES);
        xb = device.allocate(n * c.dim() * Float.BYTES);
        xb2 = device.allocate(n * c.dim() * Float.BYTES);
        q = device.allocate(n * c.dim() * Float.BYTES);
        k = device.allocate(n * c.kvDim() * Float.BYTES);
        v = device.allocate(n * c.kvDim() * Float.BYTES);
        hb = device.allocate(n * c.ffnDim() * Float.BYTES);
        hb2 = device.allocate(n * c.ffnDim() * Float.BYTES);
        logits = device.allocate((long) LOGIT_ROWS * c.vocab() * Float.BYTES);
        partials = device.allocate(n * c.heads() * MAX_PARTS * (c.headDim() + 2L) * Float.BYTES);
        long stagingBytes = Inputs.bytes(MAX_BATCH, c.dim(), rotary.pairs(), (long) MAX_BATCH * maxTableLength);
        inputs = device.allocate(stagingBytes);
        staging = device.allocatePinned(stagingBytes);
        logitsHost = device.allocatePinned((long) LOGIT_ROWS * c.vocab() * Float.BYTES);
    }

    /**
     * Where each per-batch input lies in the staging buffer and its device copy: embeddings and rotary tables (floats),
     * then slots, positions, table starts, decode tokens, prefill tile firsts and counts, wanted rows, block tables (ints).
     */
    private record Inputs(long embeddings, long rotations, long slots, long positions, long tableStarts, long decodeTokens,
                          long tileFirsts, long tileCounts, long wantedRows, long tables) {

        static Inputs of(int n, int dim, int pairs) {
            long embeddings = 0;
            long rotations = embeddings + (long) n * dim * Float.BYTES;
            long slots = rotations + (long) n * 2 * pairs * Float.BYTES;
            long positions = slots + (long) n * Integer.BYTES;
            long tableStarts = positions + (long) n * Integer.BYTES;
            long decodeTokens = tableStarts + (long) n * Integer.BYTES;
            long tileFirsts = decodeTokens + (long) n * Integer.BYTES;
            long tileCounts = tileFirsts + (long) n * Integer.BYTES;
            long wantedRows = tileCounts + (long) n * Integer.BYTES;
            long tables = wantedRows + (long) n * Integer.BYTES;
            return new Inputs(embeddings, rotations, slots, positions, tableStarts, decodeTokens, tileFirsts, tileCounts,
                    wantedRows, tables);
        }

        static long bytes(int n, int dim, int pairs, long tableInts) {
            return of(n, dim, pairs).tables + tableInts * Integer.BYTES;
        }
    }

    // ---- the engine's interface ----

    @Override
    public void forward(List<ScheduledChunk> chunks) {
        ScheduledTokens scheduled = ScheduledTokens.of(chunks);
        int n = scheduled.size();
        int[][] tables = new int[n][];
        boolean[] want = new boolean[n];
        for (int i = 0; i < n; i++) {
            SequenceState owner = scheduled.owners().get(i);
            tables[i] = i > 0 && scheduled.owners().get(i - 1) == owner ? tables[i - 1] : owner.kv().blocks();
            want[i] = scheduled.wantsLogits(i);
        }
        float[][] result = forward(scheduled.tokens(), scheduled.positions(), tables, want);
        for (int i = 0; i < n; i++) {
            if (want[i]) {
                SequenceState owner = scheduled.owners().get(i);
                nextTokens.sample(owner, result[i]);
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

    @Override
    public void copyToHost(int[] deviceBlocks, int[] hostBlocks) {
        copyBlocks(keyCache, valueCache, blocks, deviceBlocks, requireHostKeys(), hostValues, this.hostBlocks, hostBlocks);
    }

    @Override
    public void copyToDevice(int[] hostBlocks, int[] deviceBlocks) {
        copyBlocks(requireHostKeys(), hostValues, this.hostBlocks, hostBlocks, keyCache, valueCache, blocks, deviceBlocks);
    }

    @Override
    public void finishCopies() {
        device.makeCurrent();
        device.synchronize(Queue.SWAP);
    }

    /** Copies blocks within the device pool (copy-on-write of a shared block about to be written). */
    public void copyWithinDevice(int[] fromBlocks, int[] toBlocks) {
        copyBlocks(keyCache, valueCache, blocks, fromBlocks, keyCache, valueCache, blocks, toBlocks);
    }

    private Address requireHostKeys() {
        if (hostKeys == null) {
            throw new UnsupportedOperationException("this cuda backend was built without host blocks");
        }
        return hostKeys;
    }

    /**
     * One {@code copy_blocks} launch on the swap stream: it starts after the forward passes already queued (they may
     * still write the source blocks) and the next forward pass waits for it (it may overwrite the blocks copied out).
     */
    private void copyBlocks(Address fromKeys, Address fromValues, int fromPoolBlocks, int[] from,
                            Address toKeys, Address toValues, int toPoolBlocks, int[] to) {
        if (from.length != to.length) {
            throw new IllegalArgumentException(from.length + " source blocks for " + to.length + " targets");
        }
        if (from.length == 0) {
            return;
        }
        device.makeCurrent();
        device.synchronize(Queue.SWAP);  // the previous swap's ids are no longer read
        if (2 * from.length > swapIdCapacity) {
            if (swapIds != null) {
                device.free(swapIds);
                device.freePinned(swapIdsHost);
            }
            swapIdCapacity = Math.max(2 * from.length, 1024);
            swapIds = device.allocate((long) swapIdCapacity * Integer.BYTES);
            swapIdsHost = device.allocatePinned((long) swapIdCapacity * Integer.BYTES);
        }
        swapIdsHost.clear();
        swapIdsHost.asIntBuffer().put(from).put(to);
        device.copyIn(swapIds, swapIdsHost, 2L * from.length * Integer.BYTES, Queue.SWAP);
        device.order(Queue.COMPUTE, Queue.SWAP);
        long blockFloats = (long) blockSize * c.kvDim();
        device.launch("copy_blocks", new int[] {from.length, c.layers(), 2}, 256, 0, Queue.SWAP,
                fromKeys, fromValues, toKeys, toValues, swapIds, swapIds.plus((long) from.length * Integer.BYTES),
                blockFloats, layerFloats(fromPoolBlocks), layerFloats(toPoolBlocks));
        device.order(Queue.SWAP, Queue.COMPUTE);
    }

    // ---- the forward pass ----

    /**
     * Runs a batch of tokens — any mix of sequences and positions; a sequence's tokens consecutive and ascending —
     * writing each token's K/V into its block and attending over its sequence's earlier positions. {@code tables[i]}
     * is the block table of token {@code i}'s sequence (one array per sequence). Returns, per token, its logits when
     * {@code want[i]}, else null.
     */
    public float[][] forward(int[] tokens, int[] positions, int[][] tables, boolean[] want) {
        float[][] result = new float[tokens.length][];
        device.makeCurrent();
        for (int from = 0; from < tokens.length; from += MAX_BATCH) {
            forwardBatch(tokens, positions, tables, want, from, Math.min(tokens.length, from + MAX_BATCH), result);
        }
        return result;
    }

    private void forwardBatch(int[] tokens, int[] positions, int[][] tables, boolean[] want, int from, int to, float[][] result) {
        int n = to - from;
        int dim = c.dim();
        int pairs = rotary.pairs();
        Inputs at = Inputs.of(n, dim, pairs);
        device.synchronize(Queue.COMPUTE);  // the previous batch's inputs are no longer read from staging
        ByteBuffer staged = staging.clear();
        float[] row = new float[dim];
        float[] rotation = new float[2 * pairs];
        for (int i = 0; i < n; i++) {
            int position = positions[from + i];
            if (position >= c.contextLength()) {
                throw new IllegalArgumentException("position " + position + " is beyond the context length " + c.contextLength());
            }
            model.tokenEmbedding().row(tokens[from + i], row);
            staged.position((int) (at.embeddings() + (long) i * dim * Float.BYTES));
            staged.asFloatBuffer().put(row);
            rotary.rotation(position, rotation, 0);
            staged.position((int) (at.rotations() + (long) i * 2 * pairs * Float.BYTES));
            staged.asFloatBuffer().put(rotation);
        }
        // Block tables, one per sequence; decode tokens (a sequence's only token in this batch) and prefill tiles.
        Map<int[], Integer> tableStarts = new IdentityHashMap<>();
        IntArrayList flatTables = new IntArrayList();
        int[] slots = new int[n];
        int[] starts = new int[n];
        for (int i = 0; i < n; i++) {
            int[] table = tables[from + i];
            int position = positions[from + i];
            int needed = position / blockSize + 1;
            if (needed > table.length) {
                throw new IllegalArgumentException("position " + position + " is beyond its block table of " + table.length + " blocks");
            }
            Integer start = tableStarts.get(table);
            if (start == null) {
                start = flatTables.size();
                tableStarts.put(table, start);
                flatTables.addElements(flatTables.size(), table, 0, Math.min(table.length, maxTableLength));
            }
            starts[i] = start;
            slots[i] = table[position / blockSize] * blockSize + position % blockSize;
        }
        IntArrayList decode = new IntArrayList();
        IntArrayList tileFirsts = new IntArrayList();
        IntArrayList tileCounts = new IntArrayList();
        int longestDecode = 0;
        for (int i = 0; i < n; ) {
            int j = i + 1;
            while (j < n && tables[from + j] == tables[from + i] && positions[from + j] == positions[from + j - 1] + 1) {
                j++;
            }
            if (j - i == 1) {
                decode.add(i);
                longestDecode = Math.max(longestDecode, positions[from + i] + 1);
            } else {
                for (int s = i; s < j; s += PREFILL_QUERIES) {
                    tileFirsts.add(s);
                    tileCounts.add(Math.min(PREFILL_QUERIES, j - s));
                }
            }
            i = j;
        }
        IntArrayList wanted = new IntArrayList();
        for (int i = 0; i < n; i++) {
            if (want[from + i]) {
                wanted.add(i);
            }
        }
        putInts(staged, at.slots(), slots);
        putInts(staged, at.positions(), Arrays.copyOfRange(positions, from, to));
        putInts(staged, at.tableStarts(), starts);
        putInts(staged, at.decodeTokens(), decode.toIntArray());
        putInts(staged, at.tileFirsts(), tileFirsts.toIntArray());
        putInts(staged, at.tileCounts(), tileCounts.toIntArray());
        putInts(staged, at.wantedRows(), wanted.toIntArray());
        putInts(staged, at.tables(), flatTables.toIntArray());
        long used = at.tables() + (long) flatTables.size() * Integer.BYTES;
        device.copyIn(inputs, staging, used, Queue.COMPUTE);
        device.copy(x, inputs.plus(at.embeddings()), (long) n * dim * Float.BYTES, Queue.COMPUTE);

        Address rotations = inputs.plus(at.rotations());
        Address slotsOnDevice = inputs.plus(at.slots());
        Address positionsOnDevice = inputs.plus(at.positions());
        Address startsOnDevice = inputs.plus(at.tableStarts());
        Address decodeOnDevice = inputs.plus(at.decodeTokens());
        Address tileFirstsOnDevice = inputs.plus(at.tileFirsts());
        Address tileCountsOnDevice = inputs.plus(at.tileCounts());
        Address tablesOnDevice = inputs.plus(at.tables());
        int parts = decode.isEmpty() ? 0
                : Math.clamp((longestDecode + MIN_PART_TOKENS - 1) / MIN_PART_TOKENS, 1, MAX_PARTS);
        int partLength = parts == 0 ? 0 : (longestDecode + parts - 1) / parts;
        float scale = (float) (1.0 / Math.sqrt(c.headDim()));
        long layerBytes = layerFloats(blocks) * Float.BYTES;
        for (int l = 0; l < c.layers(); l++) {
            DeviceLayer layer = layers[l];
            Address keys = keyCache.plus(l * layerBytes);
            Address values = valueCache.plus(l * layerBytes);
            rmsNorm(x, layer.attentionNorm(), xb, n);
            matmul(layer.wq(), xb, q, n);
            matmul(layer.wk(), xb, k, n);
            matmul(layer.wv(), xb, v, n);
            device.launch("rope_and_store", new int[] {n}, 128, 0, Queue.COMPUTE, q, k, v, rotations, slotsOnDevice, keys, values,
                    c.heads(), c.kvHeads(), c.headDim(), pairs);
            if (!decode.isEmpty()) {
                device.launch(decodeKernel, new int[] {decode.size(), c.heads(), parts}, ATTENTION_WARPS * 32,
                        (2 * ATTENTION_WARPS + ATTENTION_WARPS * c.headDim()) * Float.BYTES, Queue.COMPUTE,
                        q, keys, values, decodeOnDevice, positionsOnDevice, tablesOnDevice, startsOnDevice, partials,
                        c.heads(), c.kvHeads(), c.headDim(), blockSize, partLength, scale);
                device.launch("attention_reduce", new int[] {decode.size(), c.heads()}, 128, 0, Queue.COMPUTE,
                        partials, decodeOnDevice, xb, c.heads(), c.headDim(), parts);
            }
            if (!tileFirsts.isEmpty()) {
                device.launch(prefillKernel, new int[] {tileFirsts.size(), c.heads()}, PREFILL_QUERIES * 32,
                        2 * PREFILL_KEYS * c.headDim() * Float.BYTES, Queue.COMPUTE,
                        q, keys, values, tileFirstsOnDevice, tileCountsOnDevice, positionsOnDevice, tablesOnDevice,
                        startsOnDevice, xb, c.heads(), c.kvHeads(), c.headDim(), blockSize, scale);
            }
            matmul(layer.wo(), xb, xb2, n);
            elementwise("add_into", x, xb2, (long) n * dim);
            rmsNorm(x, layer.ffnNorm(), xb, n);
            matmul(layer.gate(), xb, hb, n);
            matmul(layer.up(), xb, hb2, n);
            elementwise("swiglu", hb, hb2, (long) n * c.ffnDim());
            matmul(layer.down(), hb, xb2, n);
            elementwise("add_into", x, xb2, (long) n * dim);
        }
        Address wantedOnDevice = inputs.plus(at.wantedRows());
        for (int first = 0; first < wanted.size(); first += LOGIT_ROWS) {
            int rows = Math.min(LOGIT_ROWS, wanted.size() - first);
            device.launch("gather_rows", new int[] {rows}, 256, 0, Queue.COMPUTE,
                    x, xb, wantedOnDevice.plus((long) first * Integer.BYTES), dim);
            rmsNorm(xb, outputNorm, xb2, rows);
            matmul(tokenOutput, xb2, logits, rows);
            long bytes = (long) rows * c.vocab() * Float.BYTES;
            device.copyOut(logitsHost, logits, bytes, Queue.COMPUTE);
            device.synchronize(Queue.COMPUTE);
            var floats = logitsHost.clear().asFloatBuffer();
            for (int r = 0; r < rows; r++) {
                float[] out = new float[c.vocab()];
                floats.get(r * c.vocab(), out);
                result[from + wanted.getInt(first + r)] = out;
            }
        }
    }

    private static void putInts(ByteBuffer buffer, long offset, int[] values) {
        buffer.position(Math.toIntExact(offset));
        buffer.asIntBuffer().put(values);
    }

    private void matmul(DeviceMatrix matrix, Address in, Address out, int n) {
        device.launch(matrix.kernel(), new int[] {(matrix.rows() + MATMUL_ROWS - 1) / MATMUL_ROWS, (n + MATMUL_BATCH - 1) / MATMUL_BATCH},
                MATMUL_ROWS * 32, 0, Queue.COMPUTE, matrix.data(), in, out, matrix.rows(), matrix.cols(), n);
    }

    private void rmsNorm(Address in, Address weight, Address out, int rows) {
        device.launch("rms_norm", new int[] {rows}, 256, 0, Queue.COMPUTE, in, weight, out, c.dim(), c.rmsEps());
    }

    private void elementwise(String kernel, Address into, Address other, long count) {
        int grid = (int) Math.min(4096, (count + 255) / 256);
        device.launch(kernel, new int[] {grid}, 256, 0, Queue.COMPUTE, into, other, count);
    }

    // ---- inspection, for tests and the benchmark ----

    /** The K (or V) floats of {@code count} slots from {@code firstSlot} of one layer of the device pool. */
    public float[] readSlots(int layer, int firstSlot, int count, boolean keys) {
        device.makeCurrent();
        float[] out = new float[count * c.kvDim()];
        long offset = (layer * layerFloats(blocks) + (long) firstSlot * c.kvDim()) * Float.BYTES;
        device.download(out, (keys ? keyCache : valueCache).plus(offset));
        return out;
    }

    /** Fills every slot of the device pool with {@code value} (tests: make a swapped-out block's old copy garbage). */
    public void fillDevicePool(float value) {
        device.makeCurrent();
        device.synchronize(Queue.SWAP);
        long floats = layerFloats(blocks) * c.layers();
        device.fill(keyCache, Float.floatToRawIntBits(value), floats, Queue.COMPUTE);
        device.fill(valueCache, Float.floatToRawIntBits(value), floats, Queue.COMPUTE);
        device.synchronize(Queue.COMPUTE);
    }

    /** The device's peak memory bandwidth in bytes/s: memory clock × bus width × 2 (double data rate). */
    public double peakBandwidth() {
        return device.peakBandwidth();
    }

    /**
     * The decode attention kernels alone (split-context attention and its reduction, one layer): {@code sequences}
     * sequences of {@code context} tokens each on distinct blocks, timed with events over {@code repeats} launches.
     * Returns the K/V bytes read per second (each sequence's K and V once per KV head).
     */
    public double decodeAttentionBandwidth(int sequences, int context, int repeats) {
        int perSequence = (context + blockSize - 1) / blockSize;
        if ((long) sequences * perSequence > blocks || sequences > MAX_BATCH) {
            throw new IllegalArgumentException(sequences + " sequences of " + context + " tokens do not fit " + blocks + " blocks");
        }
        int[] tokens = new int[sequences];
        int[] positions = new int[sequences];
        int[][] tables = new int[sequences][];
        for (int s = 0; s < sequences; s++) {
            tables[s] = new int[perSequence];
            for (int b = 0; b < perSequence; b++) {
                tables[s][b] = s * perSequence + b;
            }
            positions[s] = context - 1;
        }
        // One real pass puts the inputs (positions, tables, decode list) where the kernels read them.
        forward(tokens, positions, tables, new boolean[sequences]);
        Inputs at = Inputs.of(sequences, c.dim(), rotary.pairs());
        int parts = Math.clamp((context + MIN_PART_TOKENS - 1) / MIN_PART_TOKENS, 1, MAX_PARTS);
        int partLength = (context + parts - 1) / parts;
        Address keys = keyCache;
        Address values = valueCache;
        float millis = device.time(() -> {
            for (int r = 0; r < repeats; r++) {
                device.launch(decodeKernel, new int[] {sequences, c.heads(), parts}, ATTENTION_WARPS * 32,
                        (2 * ATTENTION_WARPS + ATTENTION_WARPS * c.headDim()) * Float.BYTES, Queue.COMPUTE,
                        q, keys, values, inputs.plus(at.decodeTokens()), inputs.plus(at.positions()),
                        inputs.plus(at.tables()), inputs.plus(at.tableStarts()), partials,
                        c.heads(), c.kvHeads(), c.headDim(), blockSize, partLength, (float) (1.0 / Math.sqrt(c.headDim())));
                device.launch("attention_reduce", new int[] {sequences, c.heads()}, 128, 0, Queue.COMPUTE,
                        partials, inputs.plus(at.decodeTokens()), xb, c.heads(), c.headDim(), parts);
            }
        });
        double bytes = 2.0 * sequences * context * c.kvDim() * Float.BYTES * repeats;
        return bytes / (millis / 1e3);
    }

    /** Frees everything this backend holds on the device and in pinned memory. */
    @Override
    public void close() {
        device.close();
    }
}
