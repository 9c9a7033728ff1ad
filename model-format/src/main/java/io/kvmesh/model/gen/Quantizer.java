package io.kvmesh.model.gen;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import io.kvmesh.model.gguf.GgmlType;

/** Float rows into ggml storage types, with ggml's reference rounding (quantize_row_*_ref). */
public final class Quantizer {

    private Quantizer() {
    }

    public static byte[] quantize(float[] values, GgmlType type) {
        ByteBuffer out = ByteBuffer.allocate((int) type.bytesFor(values.length)).order(ByteOrder.LITTLE_ENDIAN);
        switch (type) {
            case F32 -> {
                for (float v : values) {
                    out.putFloat(v);
                }
            }
            case F16 -> {
                for (float v : values) {
                    out.putShort(Float.floatToFloat16(v));
                }
            }
            case BF16 -> {
                for (float v : values) {
                    // Round to nearest even on the upper 16 bits, as ggml's fp32_to_bf16.
                    int bits = Float.floatToRawIntBits(v);
                    out.putShort((short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16));
                }
            }
            case Q8_0 -> {
                for (int block = 0; block < values.length; block += 32) {
                    float amax = 0;
                    for (int i = 0; i < 32; i++) {
                        amax = Math.max(amax, Math.abs(values[block + i]));
                    }
                    float d = amax / 127f;
                    float id = d != 0 ? 1f / d : 0f;
                    out.putShort(Float.floatToFloat16(d));
                    for (int i = 0; i < 32; i++) {
                        out.put((byte) Math.round(values[block + i] * id));
                    }
                }
            }
            case Q4_0 -> {
                for (int block = 0; block < values.length; block += 32) {
                    float amax = 0;
                    float max = 0;
                    for (int i = 0; i < 32; i++) {
                        float v = values[block + i];
                        if (Math.abs(v) > amax) {
                            amax = Math.abs(v);
                            max = v;
                        }
                    }
                    float d = max / -8f;
                    float id = d != 0 ? 1f / d : 0f;
                    out.putShort(Float.floatToFloat16(d));
                    for (int i = 0; i < 16; i++) {
                        int low = Math.min(15, (int) (values[block + i] * id + 8.5f));
                        int high = Math.min(15, (int) (values[block + 16 + i] * id + 8.5f));
                        out.put((byte) (low | high << 4));
                    }
                }
            }
            default -> throw new IllegalArgumentException("cannot write " + type + " (F32, F16, BF16, Q8_0, Q4_0 can be written)");
        }
        return out.array();
    }
}
