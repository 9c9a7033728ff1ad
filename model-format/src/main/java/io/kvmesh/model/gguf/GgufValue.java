package io.kvmesh.model.gguf;

import java.util.Objects;

/**
 * One metadata value as stored: its type and its Java form. Scalars: {@code Long} for every integer type (unsigned
 * ones are never negative, except UINT64 above 2^63, kept as its bits), {@code Float} / {@code Double},
 * {@code Boolean}, {@code String}. Arrays ({@code type == ARRAY}, with {@code elementType}): {@code long[]},
 * {@code float[]}, {@code double[]}, {@code boolean[]}, {@code String[]}, or {@code GgufValue[]} for nested arrays.
 */
public record GgufValue(GgufValueType type, GgufValueType elementType, Object value) {

    public GgufValue {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(value, "value");
        if ((type == GgufValueType.ARRAY) != (elementType != null)) {
            throw new IllegalArgumentException("an array needs an element type, and only an array has one");
        }
    }

    public static GgufValue string(String value) {
        return new GgufValue(GgufValueType.STRING, null, value);
    }

    public static GgufValue uint32(long value) {
        return new GgufValue(GgufValueType.UINT32, null, value);
    }

    public static GgufValue float32(float value) {
        return new GgufValue(GgufValueType.FLOAT32, null, value);
    }

    public static GgufValue bool(boolean value) {
        return new GgufValue(GgufValueType.BOOL, null, value);
    }

    public static GgufValue strings(String[] values) {
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.STRING, values);
    }

    public static GgufValue floats(float[] values) {
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.FLOAT32, values);
    }

    public static GgufValue int32s(long[] values) {
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.INT32, values);
    }
}
