package io.kvmesh.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import io.kvmesh.model.gguf.GgmlType;
import io.kvmesh.model.gguf.GgufTensorInfo;
import io.kvmesh.model.gen.Quantizer;

/** The vectorized kernels against plain scalar arithmetic. */
class WeightMatrixTest {

    /** Every one of the 65,536 bit patterns — normal, subnormal, zero, inf, NaN — widens as the scalar conversion does. */
    @Test
    void sixteenBitWideningIsExactForEveryBitPattern() {
        for (GgmlType type : new GgmlType[] {GgmlType.F16, GgmlType.BF16}) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment bits = arena.allocate(2 * 65536, 64);
                for (int i = 0; i < 65536; i++) {
                    bits.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) i);
                }
                WeightMatrix.Half matrix = (WeightMatrix.Half) WeightMatrix.load(tensor(type, 65536, 1), bits, arena);
                int lanes = WeightMatrix.F.length();
                float[] widened = new float[lanes];
                for (int i = 0; i < 65536; i += lanes) {
                    matrix.widen(2L * i).intoArray(widened, 0);
                    for (int lane = 0; lane < lanes; lane++) {
                        short pattern = (short) (i + lane);
                        float expected = type == GgmlType.F16 ? Float.float16ToFloat(pattern) : Float.intBitsToFloat(pattern << 16);
                        if (Float.isNaN(expected)) {
                            // NaN payloads: hardware conversions quiet them, so only NaN-ness is portable.
                            assertThat(widened[lane]).as("%s bits 0x%04x", type, pattern & 0xFFFF).isNaN();
                        } else {
                            assertThat(Float.floatToRawIntBits(widened[lane]))
                                    .as("%s bits 0x%04x", type, pattern & 0xFFFF)
                                    .isEqualTo(Float.floatToRawIntBits(expected));
                        }
                    }
                }
            }
        }
    }

    /** Each type's dot product equals the sum of its dequantized elements times x, to float rounding. */
    @Test
    void dotProductsMatchTheDequantizedScalarSum() {
        int rows = 5;
        int cols = 96 + 32;
        SplittableRandom random = new SplittableRandom(7);
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        float[] x = new float[cols];
        for (int i = 0; i < cols; i++) {
            x[i] = (float) random.nextGaussian();
        }
        for (GgmlType type : new GgmlType[] {GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0}) {
            try (Arena arena = Arena.ofConfined()) {
                byte[] encoded = Quantizer.quantize(values, type);
                MemorySegment bytes = arena.allocate(encoded.length, 64);
                MemorySegment.copy(encoded, 0, bytes, ValueLayout.JAVA_BYTE, 0, encoded.length);
                WeightMatrix matrix = WeightMatrix.load(tensor(type, cols, rows), bytes, arena);
                float[] out = new float[rows];
                matrix.matmul(x, out);
                for (int r = 0; r < rows; r++) {
                    double expected = 0;
                    for (int c = 0; c < cols; c++) {
                        expected += (double) matrix.get(r, c) * x[c];
                    }
                    assertThat(matrix.dot(r, x, 0)).as("%s row %d", type, r).isCloseTo((float) expected, org.assertj.core.data.Offset.offset(1e-3f));
                    assertThat(out[r]).as("matmul equals dot").isEqualTo(matrix.dot(r, x, 0));
                }
                float[][] batch = {x, x.clone(), x.clone(), x.clone(), x.clone()};
                float[][] outs = new float[batch.length][rows];
                matrix.matmul(batch, outs, batch.length);
                for (float[] one : outs) {
                    assertThat(one).as("%s batched equals single", type).containsExactly(out);
                }
            }
        }
    }

    private static GgufTensorInfo tensor(GgmlType type, long cols, long rows) {
        return new GgufTensorInfo("test." + type, new long[] {cols, rows}, type, 0, 0, type.bytesFor(cols * rows));
    }
}
