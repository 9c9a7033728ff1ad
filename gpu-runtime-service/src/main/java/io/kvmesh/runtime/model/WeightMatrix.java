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

    public abstract GgmlType type();

    /** Dot product of row {@code row} with {@code x[offset, offset + cols)}. */
    public abstract float dot(int row, float[] x, int offset);

    /** Element {@code col} of row {@code row}, dequantized. */
    public abstract float get(int row, int col);

    /** {@code out[r] = row r · x} for every row, in parallel over rows. */
    public void matmul(float[] x, float[] out) {
        if (rows >= 64) {
            IntStream.range(0, rows).parallel().forEach(r -> out[r] = dot(r, x, 0));
        } else {
            for (int r = 0; r < rows; r++) {
                out[r] = dot(r, x, 0);
            }
        }
    }

    /**
     * {@code outs[b][r] = row r · xs[b]} for the first {@code count} vectors: one pass over the weights serves the whole
     * batch, in parallel over rows. Each product is computed exactly as {@link #dot} does, so batched equals single.
     */
    public void matmul(float[][] xs, float[][] outs, int count) {
        if (count == 1) {
            matmul(xs[0], outs[0]);
            return;
        }
        IntStream.range(0, rows).parallel().forEach(r -> dotMany(r, xs, outs, count));
    }

    /** The products of row {@code row} with {@code count} vectors; types override it to decode each block once. */
    void dotMany(int row, float[][] xs, float[][] outs, int count) {
        for (int b = 0; b < count; b++) {
            outs[b][row] = dot(row, xs[b], 0);
        }
    }

    /** Row {@code row} dequantized into {@code out} (embedding lookup). */
    public void row(int row, float[] out) {
        for (int c = 0; c < cols; c++) {
            out[c] = get(row, c);
        }
    }

    /**
     * The lanes' sum, first lane to last. {@code reduceLanes(ADD)} leaves the order open, and compiled and interpreted
     * code do differ, which would make "batched equals single" and "paged equals dense" fail by an ulp.
     */
    static float sumLanes(FloatVector vector) {
        float[] lanes = LANES.get();
        vector.intoArray(lanes, 0);
        float sum = 0;
        for (int i = 0; i < lanes.length; i++) {
            sum += lanes[i];
        }
        return sum;
    }

    /** Per-thread scratch for {@link #sumLanes}: one allocation per thread, not per row. */
    private static final ThreadLocal<float[]> LANES = ThreadLocal.withInitial(() -> new float[F.length()]);

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
            float result = 0;
            for (int c = 0; c < cols; c++) {
                result += value(base + c * 2L) * x[offset + c];
            }
            return result;
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

        /** Weights {@code i .. i + lanes} of the block at byte {@code block}, widened to floats and scaled. */
        private FloatVector weights(long block, int i, float scale) {
            return ((FloatVector) ByteVector.fromMemorySegment(B, data, block + 2 + i, ByteOrder.LITTLE_ENDIAN)
                    .castShape(F, 0)).mul(scale);
        }

        @Override
        public float dot(int row, float[] x, int offset) {
            long base = (long) row * (cols / BLOCK) * BLOCK_BYTES;
            int lanes = F.length();
            FloatVector sum = FloatVector.zero(F);
            for (int b = 0; b < cols / BLOCK; b++) {
                long block = base + (long) b * BLOCK_BYTES;
                float scale = f16(data.get(SHORT, block));
                for (int i = 0; i < BLOCK; i += lanes) {
                    FloatVector q = weights(block, i, scale);
                    sum = q.fma(FloatVector.fromArray(F, x, offset + b * BLOCK + i), sum);
                }
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

        private void dot4(int row, float[] x0, float[] x1, float[] x2, float[] x3, float[][] outs, int first) {
            long base = (long) row * (cols / BLOCK) * BLOCK_BYTES;
            int lanes = F.length();
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = FloatVector.zero(F);
            FloatVector a2 = FloatVector.zero(F);
            FloatVector a3 = FloatVector.zero(F);
            for (int b = 0; b < cols / BLOCK; b++) {
                long block = base + (long) b * BLOCK_BYTES;
                float scale = f16(data.get(SHORT, block));
                for (int i = 0; i < BLOCK; i += lanes) {
                    FloatVector q = weights(block, i, scale);
                    int xi = b * BLOCK + i;
                    a0 = q.fma(FloatVector.fromArray(F, x0, xi), a0);
                    a1 = q.fma(FloatVector.fromArray(F, x1, xi), a1);
                    a2 = q.fma(FloatVector.fromArray(F, x2, xi), a2);
                    a3 = q.fma(FloatVector.fromArray(F, x3, xi), a3);
                }
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

        @Override
        public float dot(int row, float[] x, int offset) {
            long base = (long) row * (cols / BLOCK) * BLOCK_BYTES;
            float result = 0;
            for (int b = 0; b < cols / BLOCK; b++) {
                long block = base + (long) b * BLOCK_BYTES;
                int xi = offset + b * BLOCK;
                float sum = 0;
                for (int i = 0; i < 16; i++) {
                    int packed = data.get(ValueLayout.JAVA_BYTE, block + 2 + i) & 0xFF;
                    sum += ((packed & 0x0F) - 8) * x[xi + i] + ((packed >>> 4) - 8) * x[xi + i + 16];
                }
                result += sum * f16(data.get(SHORT, block));
            }
            return result;
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
