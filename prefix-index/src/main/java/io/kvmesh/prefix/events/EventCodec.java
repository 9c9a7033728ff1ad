package io.kvmesh.prefix.events;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.kvmesh.prefix.blocks.BlockHashFormat;

/**
 * The values of the {@code kv-events}, {@code pod-status} and {@code kv-index} topics. {@link KvEventBatch} is written
 * as MessagePack in vLLM's event shape ({@link KvEventPack}: the hot path, one record per pod step); a batch in JSON
 * ({@link #encodeJson(KvEventBatch)}, for people and tools) is read too, told apart by its first byte. {@link PodStatus}
 * and {@link PodIndexSnapshot} are JSON. In JSON, block hashes are 16 hex digits, token ids numbers. Reading is strict about what it needs
 * (every error is a {@link MalformedEventException} naming the field) and ignores fields it does not know, so a
 * newer pod can add fields without breaking older consumers; a new {@code v} is how a breaking change is announced.
 * Thread-safe.
 */
public final class EventCodec {

    private final ObjectMapper mapper = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** MessagePack, the form pods publish. */
    public byte[] encode(KvEventBatch batch) {
        return KvEventPack.encode(batch);
    }

    /** JSON, for people and tools; {@link #decodeBatch} reads it as well as MessagePack. */
    public byte[] encodeJson(KvEventBatch batch) {
        return write(json -> {
            json.writeStartObject();
            json.writeNumberField("v", batch.v());
            json.writeStringField("podId", batch.podId());
            json.writeNumberField("epoch", batch.epoch());
            json.writeNumberField("seq", batch.seq());
            json.writeNumberField("ts", batch.ts());
            json.writeArrayFieldStart("events");
            for (KvEvent event : batch.events()) {
                writeEvent(json, event);
            }
            json.writeEndArray();
            json.writeEndObject();
        });
    }

    /**
     * A batch in either form: a MessagePack batch is an array, so its first byte is never {@code '{'} or JSON
     * whitespace, with which a JSON batch (an object) starts.
     */
    public KvEventBatch decodeBatch(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            throw new MalformedEventException("$", "empty input");
        }
        return switch (bytes[0]) {
            case '{', ' ', '\t', '\n', '\r' -> decodeJsonBatch(bytes);
            default -> KvEventPack.decode(bytes);
        };
    }

    private KvEventBatch decodeJsonBatch(byte[] json) {
        JsonFields batch = JsonFields.of(parse(json), "$");
        int v = batch.integer("v", 0, Integer.MAX_VALUE);
        if (v != KvEventBatch.VERSION) {
            throw new MalformedEventException("v", "unsupported version " + v + ", this reader knows " + KvEventBatch.VERSION);
        }
        return batch.build(b -> new KvEventBatch(
                v,
                nonEmpty(b, "podId"),
                b.integer("epoch", Long.MIN_VALUE, Long.MAX_VALUE),
                b.integer("seq", 0, Long.MAX_VALUE),
                b.integer("ts", Long.MIN_VALUE, Long.MAX_VALUE),
                b.array("events", (node, path) -> readEvent(JsonFields.of(node, path)))));
    }

    public byte[] encode(PodStatus status) {
        return write(json -> {
            json.writeStartObject();
            json.writeStringField("podId", status.podId());
            json.writeNumberField("epoch", status.epoch());
            json.writeStringField("address", status.address());
            json.writeStringField("modelId", status.modelId());
            json.writeNumberField("blockSize", status.blockSize());
            json.writeBooleanField("ready", status.ready());
            json.writeNumberField("running", status.running());
            json.writeNumberField("waiting", status.waiting());
            json.writeNumberField("paused", status.paused());
            writeUsage(json, "deviceBlocks", status.deviceBlocks());
            writeUsage(json, "hostBlocks", status.hostBlocks());
            json.writeNumberField("prefixHitRate", status.prefixHitRate());
            json.writeNumberField("tokensPerSecond", status.tokensPerSecond());
            json.writeNumberField("requestsPerSecond", status.requestsPerSecond());
            json.writeNumberField("ts", status.ts());
            json.writeEndObject();
        });
    }

    public PodStatus decodePodStatus(byte[] json) {
        return JsonFields.of(parse(json), "$").build(s -> new PodStatus(
                nonEmpty(s, "podId"),
                s.integer("epoch", Long.MIN_VALUE, Long.MAX_VALUE),
                s.text("address"),
                nonEmpty(s, "modelId"),
                s.integer("blockSize", 1, Integer.MAX_VALUE),
                s.bool("ready"),
                s.integer("running", 0, Integer.MAX_VALUE),
                s.integer("waiting", 0, Integer.MAX_VALUE),
                s.integer("paused", 0, Integer.MAX_VALUE),
                readUsage(s, "deviceBlocks"),
                readUsage(s, "hostBlocks"),
                fraction(s, "prefixHitRate"),
                nonNegative(s, "tokensPerSecond"),
                // Added after the first release: a heartbeat from an older pod has none.
                s.has("requestsPerSecond") ? nonNegative(s, "requestsPerSecond") : 0.0,
                s.integer("ts", Long.MIN_VALUE, Long.MAX_VALUE)));
    }

    public byte[] encode(PodIndexSnapshot snapshot) {
        return write(json -> {
            json.writeStartObject();
            json.writeNumberField("v", KvEventBatch.VERSION);
            json.writeStringField("podId", snapshot.podId());
            json.writeNumberField("epoch", snapshot.epoch());
            json.writeNumberField("seq", snapshot.lastSeq());
            writeHashes(json, "deviceBlocks", snapshot.deviceBlocks());
            writeHashes(json, "hostBlocks", snapshot.hostBlocks());
            json.writeObjectFieldStart("sourceOffsets");
            for (var entry : new java.util.TreeMap<>(snapshot.sourceOffsets()).entrySet()) {
                json.writeNumberField(String.valueOf(entry.getKey()), entry.getValue());
            }
            json.writeEndObject();
            json.writeEndObject();
        });
    }

    public PodIndexSnapshot decodeSnapshot(byte[] json) {
        JsonFields snapshot = JsonFields.of(parse(json), "$");
        int v = snapshot.integer("v", 0, Integer.MAX_VALUE);
        if (v != KvEventBatch.VERSION) {
            throw new MalformedEventException("v", "unsupported version " + v + ", this reader knows " + KvEventBatch.VERSION);
        }
        return snapshot.build(s -> new PodIndexSnapshot(
                nonEmpty(s, "podId"),
                s.integer("epoch", Long.MIN_VALUE, Long.MAX_VALUE),
                s.integer("seq", Long.MIN_VALUE, Long.MAX_VALUE),
                s.hashList("deviceBlocks"),
                s.hashList("hostBlocks"),
                s.offsets("sourceOffsets")));
    }

    private static void writeHashes(JsonGenerator json, String name, long[] hashes) throws IOException {
        json.writeArrayFieldStart(name);
        for (long hash : hashes) {
            json.writeString(BlockHashFormat.format(hash));
        }
        json.writeEndArray();
    }

    private static KvEvent readEvent(JsonFields event) {
        String type = event.text("type");
        return event.build(e -> switch (type) {
            case "BlockStored" -> {
                long[] hashes = e.blockHashes("blockHashes");
                Long parent = e.has("parentHash") ? e.blockHash("parentHash") : null;
                int blockSize = e.integer("blockSize", 1, Integer.MAX_VALUE);
                int[] tokens = e.tokenIds("tokenIds");
                if ((long) hashes.length * blockSize != tokens.length) {
                    throw new MalformedEventException(e.path("tokenIds"), "expected blockHashes × blockSize = "
                            + (long) hashes.length * blockSize + " token ids, got " + tokens.length);
                }
                yield new BlockStored(hashes, parent, tokens, blockSize, e.enumValue("medium", Medium.class));
            }
            case "BlockRemoved" -> {
                long[] hashes = e.blockHashes("blockHashes");
                yield new BlockRemoved(hashes, e.enumValue("medium", Medium.class));
            }
            case "AllBlocksCleared" -> new AllBlocksCleared();
            case "BlocksQueued" -> new BlocksQueued(e.blockHashes("blockHashes"));
            default -> throw new MalformedEventException(e.path("type"), "unknown event type \"" + type
                    + "\" (known: BlockStored, BlockRemoved, AllBlocksCleared, BlocksQueued)");
        });
    }

    private static void writeEvent(JsonGenerator json, KvEvent event) throws IOException {
        json.writeStartObject();
        json.writeStringField("type", event.type());
        switch (event) {
            case BlockStored stored -> {
                writeHashes(json, "blockHashes", stored.blockHashes());
                if (stored.parentHash() == null) {
                    json.writeNullField("parentHash");
                } else {
                    json.writeStringField("parentHash", BlockHashFormat.format(stored.parentHash()));
                }
                json.writeArrayFieldStart("tokenIds");
                for (int token : stored.tokenIds()) {
                    json.writeNumber(Integer.toUnsignedLong(token));
                }
                json.writeEndArray();
                json.writeNumberField("blockSize", stored.blockSize());
                json.writeStringField("medium", stored.medium().name());
            }
            case BlockRemoved removed -> {
                writeHashes(json, "blockHashes", removed.blockHashes());
                json.writeStringField("medium", removed.medium().name());
            }
            case AllBlocksCleared cleared -> {
                // no fields
            }
            case BlocksQueued queued -> writeHashes(json, "blockHashes", queued.blockHashes());
        }
        json.writeEndObject();
    }

    private static void writeUsage(JsonGenerator json, String name, BlockUsage usage) throws IOException {
        json.writeObjectFieldStart(name);
        json.writeNumberField("used", usage.used());
        json.writeNumberField("total", usage.total());
        json.writeEndObject();
    }

    private static BlockUsage readUsage(JsonFields status, String name) {
        return status.object(name).build(u -> new BlockUsage(
                u.integer("used", 0, Long.MAX_VALUE), u.integer("total", 0, Long.MAX_VALUE)));
    }

    private static String nonEmpty(JsonFields object, String name) {
        String text = object.text(name);
        if (text.isEmpty()) {
            throw new MalformedEventException(object.path(name), "must not be empty");
        }
        return text;
    }

    private static double fraction(JsonFields object, String name) {
        double value = object.number(name);
        if (!(value >= 0.0 && value <= 1.0)) {
            throw new MalformedEventException(object.path(name), "must be within 0..1, got " + value);
        }
        return value;
    }

    private static double nonNegative(JsonFields object, String name) {
        double value = object.number(name);
        if (!(value >= 0.0) || Double.isInfinite(value)) {
            throw new MalformedEventException(object.path(name), "must be a finite number >= 0, got " + value);
        }
        return value;
    }

    private JsonNode parse(byte[] json) {
        if (json == null || json.length == 0) {
            throw new MalformedEventException("$", "empty input");
        }
        try {
            return mapper.readTree(json);
        } catch (JsonProcessingException e) {
            throw new MalformedEventException("$", "not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private byte[] write(JsonWriter writer) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator json = mapper.getFactory().createGenerator(out)) {
            writer.write(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    @FunctionalInterface
    private interface JsonWriter {
        void write(JsonGenerator json) throws IOException;
    }
}
