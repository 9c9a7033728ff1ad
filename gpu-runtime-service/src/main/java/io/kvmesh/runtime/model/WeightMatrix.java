package io.kvmesh.runtime.model;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.stream.IntStream;

import io.kvmesh.model.gguf.GgmlType;
import io.kvmesh.model.gguf.GgufFormatException;
import io.kvmesh.model.gguf.GgufTensorInfo;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * A weight matrix of {@code rows × cols} in one ggml storage type, held in anonymous memory (copied from the file:
 * mmap'ed weights are slow on these machines). Each type has its own dot product with the Vector API; {@link #matmul}
 * splits rows across all cores. A 1-D tensor (a norm's weights) is one row.
 */
public abstract sealed class WeightMatrix permits WeightMatrix.F32, WeightMatrix.Half, WeightMatrix.Q8_0, WeightMatrix.Q4_0 {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** As many ints and shorts as there are float lanes: 16-bit weights are widened lane for lane. */
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));

    final String name;
    final MemorySegment data;
    final int rows;
    final int cols;

    WeightMatrix(String name, MemorySegment data, int rows, int cols) {
        this.name = name;
        this.data = data;
        this.rows = rows;
        this.cols = cols;
    }

    /** Copies a tensor out of a GGUF file into memory owned by {@code arena}. */
    public static WeightMatrix load(GgufTensorInfo info, MemorySegment fileBytes, Arena arena) {
        long[] dims = info.dims();
        int cols = Math.toIntExact(dims[0]);
        long rowCount = 1;
        for (int d = 1; d < dims.length; d++) {
            rowCount *= dims[d];
        }
        int rows = Math.toIntExact(rowCount);
        MemorySegment copy = arena.allocate(fileBytes.byteSize(), 64);
        copy.copyFrom(fileBytes);
        return switch (info.type()) {
            case F32 -> new F32(info.name(), copy, rows, cols);
            case F16 -> new Half(info.name(), copy, rows, cols, false);
            case BF16 -> new Half(info.name(), copy, rows, cols, true);
            case Q8_0 -> new Q8_0(info.name(), copy, rows, cols);
            case Q4_0 -> new Q4_0(info.name(), copy, rows, cols);
            default -> throw new GgufFormatException(info.fileOffset(), info.name(),
                    "tensor type " + info.type() + " is not supported (F32, F16, BF16, Q8_0 and Q4_0 are)");
        };
    }

    public String name() {
        return name;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /** The matrix in its ggml storage layout, rows one after another (what a device backend uploads as is). */
    public MemorySegment bytes() {
        return data;
    }

    public abstract GgmlType type();

    /** Dot product of row {@code row} with {@code x[offset, offset + cols)}. */
    public abstract float dot(int row, float[] x, int offset);

    /** Element {@code col} of row {@code row}, dequantized. */
    public abstract float get(int row, int col);

    /** {@code out[r] = row r · x} for every row, in parallel over rows. */
    public void matmul(float[] x, float[] out) {
        matmul(new float[][] {x}, new float[][] {out}, 1);
    }

    /**
     * {@code outs[b][r] = row r · xs[b]} for the first {@code count} vectors: one pass over the weights serves the whole
     * batch, in parallel over rows. Each product is computed exactly as {@link #dot} does, so batched equals single.
     */
    public void matmul(float[][] xs, float[][] outs, int count) {
        matmulAll(xs, count, new WeightMatrix[] {this}, new float[][][] {outs});
    }

    /**
     * Several matrices applied to the same inputs ({@code outs[m][b][r] = matrices[m] row r · xs[b]}) in one parallel
     * pass: one fork/join hand-off for, say, the Q, K and V projections instead of three.
     */
    public static void matmulAll(float[][] xs, int count, WeightMatrix[] matrices, float[][][] outs) {
        int[] taskMatrix = new int[matrices.length * TASKS];
        int[] taskFrom = new int[taskMatrix.length];
        int[] taskTo = new int[taskMatrix.length];
        int taskCount = 0;
        for (int m = 0; m < matrices.length; m++) {
            int rows = matrices[m].rows;
            int tasks = Math.max(1, Math.min(TASKS, rows / MIN_ROWS_PER_TASK));
            for (int t = 0; t < tasks; t++) {
                taskMatrix[taskCount] = m;
                taskFrom[taskCount] = (int) ((long) rows * t / tasks);
                taskTo[taskCount++] = (int) ((long) rows * (t + 1) / tasks);
            }
        }
        IntStream.range(0, taskCount).parallel().forEach(t -> {
            WeightMatrix matrix = matrices[taskMatrix[t]];
            float[][] out = outs[taskMatrix[t]];
            int r = taskFrom[t];
            if (count == 1) {
                for (; r < taskTo[t]; r++) {
                    out[0][r] = matrix.dot(r, xs[0], 0);
                }
            } else {
                for (; r + 1 < taskTo[t]; r += 2) {
                    matrix.dotManyTwoRows(r, xs, out, count);
                }
                if (r < taskTo[t]) {
                    matrix.dotMany(r, xs, out, count);
                }
            }
        });
    }

    /** Minimum rows per task: below it the fork/join hand-off costs more than the rows. */
    private static final int MIN_ROWS_PER_TASK = 32;
    /** Tasks per matrix: a few per core, so a core that is interrupted does not hold up the pass. */
    private static final int TASKS = 4 * Runtime.getRuntime().availableProcessors();

    /** The products of row {@code row} with {@code count} vectors; types override it to decode each block once. */
    void dotMany(int row, float[][] xs, float[][] outs, int count) {
        for (int b = 0; b < count; b++) {
            outs[b][row] = dot(row, xs[b], 0);
        }
    }

    /** {@link #dotMany} for rows {@code row} and {@code row + 1}; types override it to share each input load. */
    void dotManyTwoRows(int row, float[][] xs, float[][] outs, int count) {
        dotMany(row, xs, outs, count);
        dotMany(row + 1, xs, outs, count);
    }

    /** Row {@code row} dequantized into {@code out} (embedding lookup). */
    public void row(int row, float[] out) {
        for (int c = 0; c < cols; c++) {
            out[c] = get(row, c);
        }
    }

    /**
     * The lanes' sum by a fixed halving tree (lane-wise adds of the vector with itself rotated by half, quarter, …).
     * {@code reduceLanes(ADD)} leaves the order open, and compiled and interpreted code do differ, which would make
     * "batched equals single" and "paged equals dense" fail by an ulp; lane-wise adds are exact IEEE operations.
     */
    static float sumLanes(FloatVector vector) {
        // One statement per halving, each shuffle a constant: the JIT compiles these to permutes only so.
        if (F.length() > 8) {
            vector = vector.add(vector.rearrange(XOR_8));
        }
        if (F.length() > 4) {
            vector = vector.add(vector.rearrange(XOR_4));
        }
        if (F.length() > 2) {
            vector = vector.add(vector.rearrange(XOR_2));
        }
        return vector.add(vector.rearrange(XOR_1)).lane(0);
    }

    private static final VectorShuffle<Float> XOR_8 = VectorShuffle.fromOp(F, i -> (i ^ 8) % F.length());
    private static final VectorShuffle<Float> XOR_4 = VectorShuffle.fromOp(F, i -> (i ^ 4) % F.length());
    private static final VectorShuffle<Float> XOR_2 = VectorShuffle.fromOp(F, i -> (i ^ 2) % F.length());
    private static final VectorShuffle<Float> XOR_1 = VectorShuffle.fromOp(F, i -> i ^ 1);

    static float f16(short bits) {
        return Float.float16ToFloat(bits);
    }

    /** 32-bit floats. */
    public static final class F32 extends WeightMatrix {
        F32(String name, MemorySegment data, int rows, int cols) {
            super(name, data, rows, cols);
        }

        @Override
        public GgmlType type() {
            return GgmlType.F32;
        }

        @Override
        public float get(int row, int col) {
            return data.get(FLOAT, ((long) row * cols + col) * 4);
        }

        @Override
        public float dot(int row, float[] x, int offset) {
            long base = (long) row * cols * 4;
            FloatVector sum = FloatVector.zero(F);
            int c = 0;
            for (int upper = F.loopBound(cols); c < upper; c += F.length()) {
                FloatVector w = FloatVector.fromMemorySegment(F, data, base + c * 4L, ByteOrder.LITTLE_ENDIAN);
                sum = w.fma(FloatVector.fromArray(F, x, offset + c), sum);
            }
            float result = sumLanes(sum);
            for (; c < cols; c++) {
                result += data.get(FLOAT, base + c * 4L) * x[offset + c];
            }
            return result;
        }
    }

    /** 16-bit floats: IEEE half ({@code F16}) or bfloat16 ({@code BF16}, the top half of a 32-bit float). */
    public static final class Half extends WeightMatrix {
        private final boolean brain;

        Half(String name, MemorySegment data, int rows, int cols, boolean brain) {
            super(name, data, rows, cols);
            this.brain = brain;
        }

        @Override
        public GgmlType type() {
            return brain ? GgmlType.BF16 : GgmlType.F16;
        }

        private float value(long byteOffset) {
            short bits = data.get(SHORT, byteOffset);
            return brain ? Float.intBitsToFloat(bits << 16) : f16(bits);
        }

        @Override
        public float get(int row, int col) {
            return value(((long) row * cols + col) * 2);
        }

        @Override
        public float dot(int row, float[] x, int offset) {
            long base = (long) row * cols * 2;
            FloatVector sum = FloatVector.zero(F);
            int c = 0;
            for (int upper = F.loopBound(cols); c < upper; c += F.length()) {
                sum = widen(base + c * 2L).fma(FloatVector.fromArray(F, x, offset + c), sum);
            }
            float result = sumLanes(sum);
            for (; c < cols; c++) {
                result += value(base + c * 2L) * x[offset + c];
            }
            return result;
        }

        /**
         * {@code F.length()} 16-bit values from {@code byteOffset} as floats, exactly as {@link #value} converts one.
         * bfloat16 is the top half of a float. IEEE half: the magnitude's bits shifted into float position and scaled
         * by 2^112 is exact for normal and subnormal values alike; all-ones exponents (inf/NaN) are set explicitly.
         */
        FloatVector widen(long byteOffset) {
            IntVector bits = (IntVector) ShortVector.fromMemorySegment(S, data, byteOffset, ByteOrder.LITTLE_ENDIAN).castShape(I, 0);
            if (brain) {
                return bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            }
            IntVector magnitude = bits.and(0x7fff);
            IntVector shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
            FloatVector finite = shifted.reinterpretAsFloats().mul(0x1p112f);
            IntVector special = shifted.or(0x7f800000);
            IntVector result = finite.reinterpretAsInts().blend(special, magnitude.compare(VectorOperators.GE, 0x7c00));
            return result.or(bits.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
        }
    }

    /** Blocks of 32: a half-float scale, then 32 signed bytes. */
    public static final class Q8_0 extends WeightMatrix {
        private static final int BLOCK = 32;
        private static final int BLOCK_BYTES = 34;
        /** Bytes loaded per step: as many as there are float lanes, widened in one cast. */
        private static final VectorSpecies<Byte> B = speciesOfLength(F.length());

        Q8_0(String name, MemorySegment data, int rows, int cols) {
            super(name, data, rows, cols);
        }

        @Override
        public GgmlType type() {
            return GgmlType.Q8_0;
        }

        @Override
        public float get(int row, int col) {
            long block = ((long) row * cols + col) / BLOCK * BLOCK_BYTES;
            return f16(data.get(SHORT, block)) * data.get(ValueLayout.JAVA_BYTE, block + 2 + col % BLOCK);
        }

        /** Weights {@code i .. i + lanes} of the block at byte {@code block}, widened to floats (unscaled). */
        private FloatVector weights(long block, int i) {
            return (FloatVector) ByteVector.fromMemorySegment(B, data, block + 2 + i, ByteOrder.LITTLE_ENDIAN).castShape(F, 0);
        }

        private FloatVector scale(long block) {
            return FloatVector.broadcast(F, f16(data.get(SHORT, block)));
        }

        /**
         * Per block: the integer weights times x summed lane-wise, then scaled once into the accumulator (one multiply
         * per block instead of one per weight vector, as llama.cpp does).
         */
        @Override
        public float dot(int row, float[] x, int offset) {
            long base = (long) row * (cols / BLOCK) * BLOCK_BYTES;
            int lanes = F.length();
            FloatVector sum = FloatVector.zero(F);
            for (int b = 0; b < cols / BLOCK; b++) {
                long block = base + (long) b * BLOCK_BYTES;
                int xi = offset + b * BLOCK;
                FloatVector product = weights(block, 0).mul(FloatVector.fromArray(F, x, xi));
                for (int i = lanes; i < BLOCK; i += lanes) {
                    product = weights(block, i).fma(FloatVector.fromArray(F, x, xi + i), product);
                }
                sum = product.fma(scale(block), sum);
            }
            return sumLanes(sum);
        }

        /**
         * Four inputs at a time with their accumulators in registers: each block is decoded once per four inputs.
         * The arithmetic per input is that of {@link #dot}, so the results are identical.
         */
        @Override
        void dotMany(int row, float[][] xs, float[][] outs, int count) {
            int s = 0;
            for (; s + 4 <= count; s += 4) {
                dot4(row, xs[s], xs[s + 1], xs[s + 2], xs[s + 3], outs, s);
            }
            for (; s < count; s++) {
                outs[s][row] = dot(row, xs[s], 0);
            }
        }

        /**
         * Two rows times four inputs per step (eight accumulators): each input vector is loaded once for both rows,
         * which is what bounds the four-input kernel. Per output the arithmetic is that of {@link #dot}.
         */
        @Override
        void dotManyTwoRows(int row, float[][] xs, float[][] outs, int count) {
            if (F.length() != 16) {
                super.dotManyTwoRows(row, xs, outs, count);
                return;
            }
            int s = 0;
            for (; s + 4 <= count; s += 4) {
                twoRowsTimesFour(row, xs[s], xs[s + 1], xs[s + 2], xs[s + 3], outs, s);
            }
            for (; s < count; s++) {
                outs[s][row] = dot(row, xs[s], 0);
                outs[s][row + 1] = dot(row + 1, xs[s], 0);
            }
        }

        /** The 512-bit case written out: a block is two vectors of sixteen weights. */
        private void twoRowsTimesFour(int row, float[] x0, float[] x1, float[] x2, float[] x3, float[][] outs, int first) {
            long base0 = (long) row * (cols / BLOCK) * BLOCK_BYTES;
            long base1 = base0 + (long) (cols / BLOCK) * BLOCK_BYTES;
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            FloatVector b0 = a0;
            FloatVector b1 = a0;
            FloatVector b2 = a0;
            FloatVector b3 = a0;
            for (int b = 0; b < cols / BLOCK; b++) {
                long blockA = base0 + (long) b * BLOCK_BYTES;
                long blockB = base1 + (long) b * BLOCK_BYTES;
                int xi = b * BLOCK;
                FloatVector lowA = weights(blockA, 0);
                FloatVector highA = weights(blockA, 16);
                FloatVector scaleA = scale(blockA);
                FloatVector lowB = weights(blockB, 0);
                FloatVector highB = weights(blockB, 16);
                FloatVector scaleB = scale(blockB);
                FloatVector low = FloatVector.fromArray(F, x0, xi);
                FloatVector high = FloatVector.fromArray(F, x0, xi + 16);
                a0 = highA.fma(high, lowA.mul(low)).fma(scaleA, a0);
                b0 = highB.fma(high, lowB.mul(low)).fma(scaleB, b0);
                low = FloatVector.fromArray(F, x1, xi);
                high = FloatVector.fromArray(F, x1, xi + 16);
                a1 = highA.fma(high, lowA.mul(low)).fma(scaleA, a1);
                b1 = highB.fma(high, lowB.mul(low)).fma(scaleB, b1);
                low = FloatVector.fromArray(F, x2, xi);
                high = FloatVector.fromArray(F, x2, xi + 16);
                a2 = highA.fma(high, lowA.mul(low)).fma(scaleA, a2);
                b2 = highB.fma(high, lowB.mul(low)).fma(scaleB, b2);
                low = FloatVector.fromArray(F, x3, xi);
                high = FloatVector.fromArray(F, x3, xi + 16);
                a3 = highA.fma(high, lowA.mul(low)).fma(scaleA, a3);
                b3 = highB.fma(high, lowB.mul(low)).fma(scaleB, b3);
            }
            outs[first][row] = sumLanes(a0);
            outs[first + 1][row] = sumLanes(a1);
            outs[first + 2][row] = sumLanes(a2);
            outs[first + 3][row] = sumLanes(a3);
            outs[first][row + 1] = sumLanes(b0);
            outs[first + 1][row + 1] = sumLanes(b1);
            outs[first + 2][row + 1] = sumLanes(b2);
            outs[first + 3][row + 1] = sumLanes(b3);
        }

        private void dot4(int row, float[] x0, float[] x1, float[] x2, float[] x3, float[][] outs, int first) {
            long base = (long) row * (cols / BLOCK) * BLOCK_BYTES;
            int lanes = F.length();
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = FloatVector.zero(F);
            FloatVector a2 = FloatVector.zero(F);
            FloatVector a3 = FloatVector.zero(F);
            for (int b = 0; b < cols / BLOCK; b++) {
                long block = base + (long) b * BLOCK_BYTES;
                int xi = b * BLOCK;
                FloatVector q = weights(block, 0);
                FloatVector p0 = q.mul(FloatVector.fromArray(F, x0, xi));
                FloatVector p1 = q.mul(FloatVector.fromArray(F, x1, xi));
                FloatVector p2 = q.mul(FloatVector.fromArray(F, x2, xi));
                FloatVector p3 = q.mul(FloatVector.fromArray(F, x3, xi));
                for (int i = lanes; i < BLOCK; i += lanes) {
                    q = weights(block, i);
                    p0 = q.fma(FloatVector.fromArray(F, x0, xi + i), p0);
                    p1 = q.fma(FloatVector.fromArray(F, x1, xi + i), p1);
                    p2 = q.fma(FloatVector.fromArray(F, x2, xi + i), p2);
                    p3 = q.fma(FloatVector.fromArray(F, x3, xi + i), p3);
                }
                FloatVector scale = scale(block);
                a0 = p0.fma(scale, a0);
                a1 = p1.fma(scale, a1);
                a2 = p2.fma(scale, a2);
                a3 = p3.fma(scale, a3);
            }
            outs[first][row] = sumLanes(a0);
            outs[first + 1][row] = sumLanes(a1);
            outs[first + 2][row] = sumLanes(a2);
            outs[first + 3][row] = sumLanes(a3);
        }
    }

    /** Blocks of 32: a half-float scale, then 16 bytes of 4-bit values (low nibbles 0..15, high 16..31), minus 8. */
    public static final class Q4_0 extends WeightMatrix {
        private static final int BLOCK = 32;
        private static final int BLOCK_BYTES = 18;

        Q4_0(String name, MemorySegment data, int rows, int cols) {
            super(name, data, rows, cols);
        }

        @Override
        public GgmlType type() {
            return GgmlType.Q4_0;
        }

        @Override
        public float get(int row, int col) {
            long block = ((long) row * cols + col) / BLOCK * BLOCK_BYTES;
            int i = col % BLOCK;
            int packed = data.get(ValueLayout.JAVA_BYTE, block + 2 + i % 16) & 0xFF;
            int nibble = i < 16 ? packed & 0x0F : packed >>> 4;
            return f16(data.get(SHORT, block)) * (nibble - 8);
        }

        /**
         * Per block: low nibbles pair with x[0..16), high nibbles with x[16..32), summed lane-wise and scaled once into
         * the accumulator.
         */
        @Override
        public float dot(int row, float[] x, int offset) {
            long base = (long) row * (cols / BLOCK) * BLOCK_BYTES;
            int lanes = F.length();
            FloatVector sum = FloatVector.zero(F);
            for (int b = 0; b < cols / BLOCK; b++) {
                long block = base + (long) b * BLOCK_BYTES;
                int xi = offset + b * BLOCK;
                FloatVector product = nibbles(block, 0, x, xi, null);
                for (int i = lanes; i < 16; i += lanes) {
                    product = nibbles(block, i, x, xi, product);
                }
                sum = product.fma(FloatVector.broadcast(F, f16(data.get(SHORT, block))), sum);
            }
            return sumLanes(sum);
        }

        /** Adds the products of packed bytes {@code i .. i + lanes} (weights i.. and 16 + i..) to {@code product}. */
        private FloatVector nibbles(long block, int i, float[] x, int xi, FloatVector product) {
            ByteVector packed = ByteVector.fromMemorySegment(Q8_0.B, data, block + 2 + i, ByteOrder.LITTLE_ENDIAN);
            FloatVector low = (FloatVector) packed.and((byte) 0x0F).sub((byte) 8).castShape(F, 0);
            FloatVector high = (FloatVector) packed.lanewise(VectorOperators.LSHR, 4).sub((byte) 8).castShape(F, 0);
            FloatVector lowX = FloatVector.fromArray(F, x, xi + i);
            FloatVector withLow = product == null ? low.mul(lowX) : low.fma(lowX, product);
            return high.fma(FloatVector.fromArray(F, x, xi + 16 + i), withLow);
        }
    }

    private static VectorSpecies<Byte> speciesOfLength(int lanes) {
        return switch (lanes) {
            case 8 -> ByteVector.SPECIES_64;
            case 16 -> ByteVector.SPECIES_128;
            case 32 -> ByteVector.SPECIES_256;
            default -> ByteVector.SPECIES_64;
        };
    }
}
