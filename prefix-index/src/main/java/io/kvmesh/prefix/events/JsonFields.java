package io.kvmesh.prefix.events;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import com.fasterxml.jackson.databind.JsonNode;

import io.kvmesh.prefix.blocks.BlockHashFormat;

/** Reads the fields of one JSON object strictly, naming the field's full path in every error. */
final class JsonFields {

    private final JsonNode object;
    private final String path;

    private JsonFields(JsonNode object, String path) {
        this.object = object;
        this.path = path;
    }

    static JsonFields of(JsonNode node, String path) {
        if (node == null || !node.isObject()) {
            throw new MalformedEventException(path, "expected a JSON object, got " + describe(node));
        }
        return new JsonFields(node, path);
    }

    String path(String name) {
        return path.equals("$") ? name : path + "." + name;
    }

    private JsonNode required(String name) {
        JsonNode value = object.get(name);
        if (value == null || value.isNull()) {
            throw new MalformedEventException(path(name), "is required");
        }
        return value;
    }

    boolean has(String name) {
        JsonNode value = object.get(name);
        return value != null && !value.isNull();
    }

    String text(String name) {
        JsonNode value = required(name);
        if (!value.isTextual()) {
            throw new MalformedEventException(path(name), "expected a string, got " + describe(value));
        }
        return value.textValue();
    }

    long integer(String name, long min, long max) {
        return integer(required(name), path(name), min, max);
    }

    int integer(String name, int min, int max) {
        return (int) integer(required(name), path(name), min, max);
    }

    boolean bool(String name) {
        JsonNode value = required(name);
        if (!value.isBoolean()) {
            throw new MalformedEventException(path(name), "expected true or false, got " + describe(value));
        }
        return value.booleanValue();
    }

    double number(String name) {
        JsonNode value = required(name);
        if (!value.isNumber()) {
            throw new MalformedEventException(path(name), "expected a number, got " + describe(value));
        }
        return value.doubleValue();
    }

    long blockHash(String name) {
        return blockHash(required(name), path(name));
    }

    <E extends Enum<E>> E enumValue(String name, Class<E> type) {
        String text = text(name);
        for (E constant : type.getEnumConstants()) {
            if (constant.name().equals(text)) {
                return constant;
            }
        }
        throw new MalformedEventException(path(name), "expected one of "
                + java.util.Arrays.toString(type.getEnumConstants()) + ", got \"" + text + "\"");
    }

    JsonFields object(String name) {
        return of(required(name), path(name));
    }

    /** Each element of the array {@code name}, read by {@code element} with its indexed path. */
    <T> List<T> array(String name, ArrayElementReader<T> element) {
        JsonNode value = required(name);
        if (!value.isArray()) {
            throw new MalformedEventException(path(name), "expected an array, got " + describe(value));
        }
        List<T> result = new ArrayList<>(value.size());
        for (int i = 0; i < value.size(); i++) {
            result.add(element.read(value.get(i), path(name) + "[" + i + "]"));
        }
        return result;
    }

    /** A non-empty array of block hashes (no event names zero blocks). */
    long[] blockHashes(String name) {
        long[] hashes = hashList(name);
        if (hashes.length == 0) {
            throw new MalformedEventException(path(name), "must not be empty");
        }
        return hashes;
    }

    /** An array of block hashes that may be empty (a snapshot of a pod holding nothing on a tier). */
    long[] hashList(String name) {
        return array(name, JsonFields::blockHash).stream().mapToLong(Long::longValue).toArray();
    }

    /** An object mapping partition numbers to offsets. */
    java.util.Map<Integer, Long> offsets(String name) {
        JsonNode value = required(name);
        if (!value.isObject()) {
            throw new MalformedEventException(path(name), "expected an object of partition → offset, got " + describe(value));
        }
        java.util.Map<Integer, Long> offsets = new java.util.HashMap<>();
        for (var entry : value.properties()) {
            String at = path(name) + "." + entry.getKey();
            int partition;
            try {
                partition = Integer.parseInt(entry.getKey());
            } catch (NumberFormatException e) {
                throw new MalformedEventException(at, "a partition number is a whole number");
            }
            if (partition < 0) {
                throw new MalformedEventException(at, "a partition number is not negative");
            }
            offsets.put(partition, integer(entry.getValue(), at, 0, Long.MAX_VALUE));
        }
        return offsets;
    }

    int[] tokenIds(String name) {
        return array(name, (node, at) -> tokenId(node, at)).stream().mapToInt(Integer::intValue).toArray();
    }

    /** Runs a record constructor, turning its own validation failures into errors naming this object. */
    <T> T build(Function<JsonFields, T> constructor) {
        try {
            return constructor.apply(this);
        } catch (MalformedEventException e) {
            throw e;
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new MalformedEventException(path, e.getMessage());
        }
    }

    @FunctionalInterface
    interface ArrayElementReader<T> {
        T read(JsonNode node, String path);
    }

    static long integer(JsonNode value, String path, long min, long max) {
        if (!value.isIntegralNumber() || !value.canConvertToLong()) {
            throw new MalformedEventException(path, "expected an integer, got " + describe(value));
        }
        long number = value.longValue();
        if (number < min || number > max) {
            throw new MalformedEventException(path, "must be within " + min + ".." + max + ", got " + number);
        }
        return number;
    }

    static long blockHash(JsonNode value, String path) {
        if (value == null || !value.isTextual()) {
            throw new MalformedEventException(path, "expected a block hash (16 hex digits), got " + describe(value));
        }
        try {
            return BlockHashFormat.parse(value.textValue());
        } catch (IllegalArgumentException e) {
            throw new MalformedEventException(path, e.getMessage());
        }
    }

    static int tokenId(JsonNode value, String path) {
        return (int) integer(value, path, 0, 0xFFFF_FFFFL);
    }

    static String describe(JsonNode node) {
        if (node == null || node.isMissingNode()) {
            return "nothing";
        }
        String text = node.toString();
        String kind = node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        return kind + " " + (text.length() > 40 ? text.substring(0, 40) + "…" : text);
    }
}
