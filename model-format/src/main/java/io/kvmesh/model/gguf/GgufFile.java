package io.kvmesh.model.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A GGUF file (versions 2 and 3): its metadata, its tensor directory, and its bytes. Every structural problem is a
 * {@link GgufFormatException} naming the byte offset and the key or tensor, never an index error from deep inside.
 * {@link #open(Path)} maps the file read-only; the engine copies the weights it computes with into anonymous memory
 * (mmap'ed weights are slow on these machines, see reference/benchmarks.md).
 */
public final class GgufFile implements AutoCloseable {

    public static final int MAGIC = 0x46554747; // "GGUF" little-endian
    public static final int DEFAULT_ALIGNMENT = 32;
    private static final long MAX_STRING = 1L << 30;

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Arena arena;
    private final MemorySegment bytes;
    private final int version;
    private final Map<String, GgufValue> metadata;
    private final List<GgufTensorInfo> tensors;
    private final Map<String, GgufTensorInfo> tensorsByName;
    private final int alignment;
    private final long dataOffset;

    private GgufFile(Arena arena, MemorySegment bytes) {
        this.arena = arena;
        this.bytes = bytes;
        Cursor in = new Cursor(bytes);
        if (bytes.byteSize() < 24) {
            throw new GgufFormatException(0, null, "file of " + bytes.byteSize() + " bytes is too short to be GGUF");
        }
        int magic = in.i32("magic");
        if (magic != MAGIC) {
            throw new GgufFormatException(0, null, String.format("not a GGUF file (magic 0x%08x, expected 0x%08x \"GGUF\")", magic, MAGIC));
        }
        version = in.i32("version");
        if (version != 2 && version != 3) {
            throw new GgufFormatException(4, "version", "GGUF version " + version + " is not supported (2 and 3 are)");
        }
        long tensorCount = in.count("tensor_count", 1L << 24);
        long kvCount = in.count("metadata_kv_count", 1L << 24);
        Map<String, GgufValue> kvs = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            long at = in.position;
            String key = in.string("metadata key #" + i);
            if (kvs.containsKey(key)) {
                throw new GgufFormatException(at, key, "duplicate metadata key");
            }
            kvs.put(key, in.value(key));
        }
        metadata = Collections.unmodifiableMap(kvs);
        GgufValue alignmentValue = kvs.get("general.alignment");
        alignment = alignmentValue == null ? DEFAULT_ALIGNMENT : (int) (long) (Long) alignmentValue.value();
        if (alignment <= 0 || Integer.bitCount(alignment) != 1) {
            throw new GgufFormatException(0, "general.alignment", "alignment " + alignment + " is not a power of two");
        }
        List<long[]> rawInfos = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<GgmlType> types = new ArrayList<>();
        List<Long> infoOffsets = new ArrayList<>();
        for (long i = 0; i < tensorCount; i++) {
            infoOffsets.add(in.position);
            String name = in.string("tensor #" + i + " name");
            int dimCount = in.i32(name + " n_dims");
            if (dimCount < 1 || dimCount > 4) {
                throw new GgufFormatException(in.position - 4, name, "tensor has " + dimCount + " dimensions (1 to 4 allowed)");
            }
            long[] dims = new long[dimCount + 1];
            for (int d = 0; d < dimCount; d++) {
                dims[d] = in.i64(name + " dim " + d);
                if (dims[d] <= 0) {
                    throw new GgufFormatException(in.position - 8, name, "dimension " + d + " is " + dims[d]);
                }
            }
            long typeAt = in.position;
            int typeId = in.i32(name + " type");
            GgmlType type = GgmlType.byId(typeId);
            if (type == null) {
                throw new GgufFormatException(typeAt, name, "unknown ggml tensor type id " + typeId);
            }
            dims[dimCount] = in.i64(name + " offset");
            rawInfos.add(dims);
            names.add(name);
            types.add(type);
        }
        dataOffset = align(in.position, alignment);
        List<GgufTensorInfo> infos = new ArrayList<>();
        Map<String, GgufTensorInfo> byName = new HashMap<>();
        for (int i = 0; i < rawInfos.size(); i++) {
            long[] raw = rawInfos.get(i);
            long[] dims = java.util.Arrays.copyOf(raw, raw.length - 1);
            long relative = raw[raw.length - 1];
            String name = names.get(i);
            GgmlType type = types.get(i);
            long elements = 1;
            for (long dim : dims) {
                elements = Math.multiplyExact(elements, dim);
            }
            long size;
            try {
                size = type.bytesFor(elements);
            } catch (IllegalArgumentException e) {
                throw new GgufFormatException(infoOffsets.get(i), name, e.getMessage());
            }
            if (relative % alignment != 0) {
                throw new GgufFormatException(infoOffsets.get(i), name, "data offset " + relative + " is not aligned to " + alignment);
            }
            long start = dataOffset + relative;
            if (relative < 0 || start + size > bytes.byteSize()) {
                throw new GgufFormatException(start, name, "tensor data (" + size + " bytes) runs past the end of the file ("
                        + bytes.byteSize() + " bytes): the file is truncated");
            }
            GgufTensorInfo info = new GgufTensorInfo(name, dims, type, relative, start, size);
            if (byName.put(name, info) != null) {
                throw new GgufFormatException(infoOffsets.get(i), name, "duplicate tensor name");
            }
            infos.add(info);
        }
        tensors = List.copyOf(infos);
        tensorsByName = Map.copyOf(byName);
    }

    /** Maps and parses a GGUF file. */
    public static GgufFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment segment = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            return new GgufFile(arena, segment);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Parses GGUF bytes already in memory (tests, generated models). */
    public static GgufFile of(byte[] content) {
        return new GgufFile(null, MemorySegment.ofArray(content));
    }

    public int version() {
        return version;
    }

    public Map<String, GgufValue> metadata() {
        return metadata;
    }

    public List<GgufTensorInfo> tensors() {
        return tensors;
    }

    public int alignment() {
        return alignment;
    }

    public long dataOffset() {
        return dataOffset;
    }

    public GgufTensorInfo tensor(String name) {
        GgufTensorInfo info = tensorsByName.get(name);
        if (info == null) {
            throw new GgufFormatException(dataOffset, name, "tensor is missing");
        }
        return info;
    }

    /** The bytes of a tensor, a view of the file. */
    public MemorySegment tensorData(GgufTensorInfo info) {
        return bytes.asSlice(info.fileOffset(), info.byteSize());
    }

    // Typed metadata access: a missing key or another type is an error naming the key.

    public boolean has(String key) {
        return metadata.containsKey(key);
    }

    public String string(String key) {
        return (String) expect(key, GgufValueType.STRING, null).value();
    }

    public long integer(String key) {
        GgufValue value = require(key);
        if (value.value() instanceof Long number) {
            return number;
        }
        throw new GgufFormatException(dataOffset, key, "expected an integer, found " + value.type());
    }

    public long integer(String key, long fallback) {
        return has(key) ? integer(key) : fallback;
    }

    public float float32(String key) {
        GgufValue value = require(key);
        if (value.value() instanceof Float number) {
            return number;
        }
        if (value.value() instanceof Double number) {
            return number.floatValue();
        }
        throw new GgufFormatException(dataOffset, key, "expected a float, found " + value.type());
    }

    public float float32(String key, float fallback) {
        return has(key) ? float32(key) : fallback;
    }

    public boolean bool(String key, boolean fallback) {
        return has(key) ? (Boolean) expect(key, GgufValueType.BOOL, null).value() : fallback;
    }

    public String[] strings(String key) {
        return (String[]) expect(key, GgufValueType.ARRAY, GgufValueType.STRING).value();
    }

    public float[] floats(String key) {
        return (float[]) expect(key, GgufValueType.ARRAY, GgufValueType.FLOAT32).value();
    }

    /** An array of any integer element type. */
    public long[] integers(String key) {
        GgufValue value = require(key);
        if (value.value() instanceof long[] numbers) {
            return numbers;
        }
        throw new GgufFormatException(dataOffset, key, "expected an array of integers, found " + describe(value));
    }

    private GgufValue require(String key) {
        GgufValue value = metadata.get(key);
        if (value == null) {
            throw new GgufFormatException(dataOffset, key, "metadata key is missing");
        }
        return value;
    }

    private GgufValue expect(String key, GgufValueType type, GgufValueType elementType) {
        GgufValue value = require(key);
        if (value.type() != type || !Objects.equals(value.elementType(), elementType)) {
            throw new GgufFormatException(dataOffset, key, "expected " + (elementType == null ? type : "an array of " + elementType)
                    + ", found " + describe(value));
        }
        return value;
    }

    private static String describe(GgufValue value) {
        return value.elementType() == null ? value.type().name() : "an array of " + value.elementType();
    }

    @Override
    public void close() {
        if (arena != null) {
            arena.close();
        }
    }

    static long align(long offset, int alignment) {
        return (offset + alignment - 1) / alignment * alignment;
    }

    /** Bounds-checked little-endian reads, each naming what it reads when the file ends early. */
    private static final class Cursor {
        private final MemorySegment bytes;
        private long position;

        Cursor(MemorySegment bytes) {
            this.bytes = bytes;
        }

        private long take(long size, String field) {
            if (size < 0 || position + size > bytes.byteSize()) {
                throw new GgufFormatException(position, field, "needs " + size + " bytes but the file ends at "
                        + bytes.byteSize() + ": the file is truncated or corrupt");
            }
            long at = position;
            position += size;
            return at;
        }

        int i32(String field) {
            return bytes.get(INT, take(4, field));
        }

        long i64(String field) {
            return bytes.get(LONG, take(8, field));
        }

        long count(String field, long max) {
            long at = position;
            long count = i64(field);
            if (count < 0 || count > max) {
                throw new GgufFormatException(at, field, "count " + Long.toUnsignedString(count) + " is implausible");
            }
            return count;
        }

        String string(String field) {
            long at = position;
            long length = i64(field + " length");
            if (length < 0 || length > MAX_STRING) {
                throw new GgufFormatException(at, field, "string length " + Long.toUnsignedString(length) + " is implausible");
            }
            long start = take(length, field);
            byte[] utf8 = bytes.asSlice(start, length).toArray(ValueLayout.JAVA_BYTE);
            try {
                return StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(java.nio.ByteBuffer.wrap(utf8)).toString();
            } catch (CharacterCodingException e) {
                throw new GgufFormatException(start, field, "string is not valid UTF-8");
            }
        }

        GgufValue value(String field) {
            long at = position;
            GgufValueType type = GgufValueType.byId(i32(field + " type"));
            if (type == null) {
                throw new GgufFormatException(at, field, "unknown metadata value type " + bytes.get(INT, at));
            }
            return type == GgufValueType.ARRAY ? arrayValue(field) : new GgufValue(type, null, scalar(field, type));
        }

        /** An array's element type, length and elements (nested arrays are stored this way, without a type id). */
        private GgufValue arrayValue(String field) {
            long typeAt = position;
            GgufValueType element = GgufValueType.byId(i32(field + " element type"));
            if (element == null) {
                throw new GgufFormatException(typeAt, field, "unknown array element type " + bytes.get(INT, typeAt));
            }
            long count = count(field + " array length", bytes.byteSize());
            return new GgufValue(GgufValueType.ARRAY, element, array(field, element, (int) count));
        }

        private Object scalar(String field, GgufValueType type) {
            return switch (type) {
                case UINT8 -> (long) Byte.toUnsignedInt(bytes.get(ValueLayout.JAVA_BYTE, take(1, field)));
                case INT8 -> (long) bytes.get(ValueLayout.JAVA_BYTE, take(1, field));
                case UINT16 -> (long) Short.toUnsignedInt(bytes.get(SHORT, take(2, field)));
                case INT16 -> (long) bytes.get(SHORT, take(2, field));
                case UINT32 -> Integer.toUnsignedLong(i32(field));
                case INT32 -> (long) i32(field);
                case UINT64, INT64 -> i64(field);
                case FLOAT32 -> bytes.get(FLOAT, take(4, field));
                case FLOAT64 -> bytes.get(DOUBLE, take(8, field));
                case BOOL -> {
                    long at = take(1, field);
                    byte b = bytes.get(ValueLayout.JAVA_BYTE, at);
                    if (b != 0 && b != 1) {
                        throw new GgufFormatException(at, field, "boolean byte is " + b);
                    }
                    yield b == 1;
                }
                case STRING -> string(field);
                case ARRAY -> arrayValue(field);
            };
        }

        private Object array(String field, GgufValueType element, int count) {
            return switch (element) {
                case STRING -> {
                    String[] values = new String[count];
                    for (int i = 0; i < count; i++) {
                        values[i] = string(field + "[" + i + "]");
                    }
                    yield values;
                }
                case FLOAT32 -> {
                    float[] values = new float[count];
                    for (int i = 0; i < count; i++) {
                        values[i] = (Float) scalar(field + "[" + i + "]", element);
                    }
                    yield values;
                }
                case FLOAT64 -> {
                    double[] values = new double[count];
                    for (int i = 0; i < count; i++) {
                        values[i] = (Double) scalar(field + "[" + i + "]", element);
                    }
                    yield values;
                }
                case BOOL -> {
                    boolean[] values = new boolean[count];
                    for (int i = 0; i < count; i++) {
                        values[i] = (Boolean) scalar(field + "[" + i + "]", element);
                    }
                    yield values;
                }
                case ARRAY -> {
                    GgufValue[] values = new GgufValue[count];
                    for (int i = 0; i < count; i++) {
                        values[i] = arrayValue(field + "[" + i + "]");
                    }
                    yield values;
                }
                default -> {
                    long[] values = new long[count];
                    for (int i = 0; i < count; i++) {
                        values[i] = (Long) scalar(field + "[" + i + "]", element);
                    }
                    yield values;
                }
            };
        }
    }
}
