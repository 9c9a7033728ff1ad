package io.kvmesh.prefix.events;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import org.msgpack.core.MessageFormat;
import org.msgpack.core.MessageInsufficientBufferException;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessagePackException;
import org.msgpack.core.MessagePacker;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.core.buffer.ArrayBufferOutput;
import org.msgpack.value.ValueType;

/**
 * MessagePack for {@link KvEventBatch}, the value written to {@code kv-events}. Events keep vLLM's wire shape
 * (vLLM publishes its KV events as msgspec "array-like, tagged" structs): {@code ["BlockStored", blockHashes,
 * parentHash, tokenIds, blockSize, loraId, medium]}, {@code ["BlockRemoved", blockHashes, medium]},
 * {@code ["AllBlocksCleared"]}, and kvmesh's own {@code ["BlocksQueued", blockHashes]}; the batch is {@code [v, podId, epoch, seq, ts, events]}. Block hashes are unsigned
 * 64-bit integers, token ids unsigned 32-bit. Elements after the known ones are ignored, so a newer writer may append
 * fields (as msgspec does for optional ones); a missing or nil {@code medium} means {@code DEVICE}, as in vLLM.
 *
 * <p>Why not JSON on this topic: a block event carries its 16 token ids, and parsing their decimal text bounded the
 * index's ingest at ~0.6 M block events/s on one core; packed, they are read as fixed-width integers.
 */
final class KvEventPack {

    private static final byte UINT64 = (byte) 0xcf;

    private KvEventPack() {
    }

    static byte[] encode(KvEventBatch batch) {
        ArrayBufferOutput out = new ArrayBufferOutput(64 + 96 * batch.events().size());
        try (MessagePacker pack = MessagePack.newDefaultPacker(out)) {
            pack.packArrayHeader(6);
            pack.packInt(batch.v());
            pack.packString(batch.podId());
            pack.packLong(batch.epoch());
            pack.packLong(batch.seq());
            pack.packLong(batch.ts());
            pack.packArrayHeader(batch.events().size());
            for (KvEvent event : batch.events()) {
                switch (event) {
                    case BlockStored stored -> {
                        pack.packArrayHeader(7);
                        pack.packString("BlockStored");
                        packHashes(pack, stored.blockHashes());
                        if (stored.parentHash() == null) {
                            pack.packNil();
                        } else {
                            packHash(pack, stored.parentHash());
                        }
                        int[] tokens = stored.tokenIds();
                        pack.packArrayHeader(tokens.length);
                        for (int token : tokens) {
                            pack.packLong(Integer.toUnsignedLong(token));
                        }
                        pack.packInt(stored.blockSize());
                        pack.packNil(); // loraId: adapters are not modelled (yet); the slot keeps vLLM's positions
                        pack.packString(stored.medium().name());
                    }
                    case BlockRemoved removed -> {
                        pack.packArrayHeader(3);
                        pack.packString("BlockRemoved");
                        packHashes(pack, removed.blockHashes());
                        pack.packString(removed.medium().name());
                    }
                    case AllBlocksCleared cleared -> {
                        pack.packArrayHeader(1);
                        pack.packString("AllBlocksCleared");
                    }
                    case BlocksQueued queued -> {
                        pack.packArrayHeader(2);
                        pack.packString("BlocksQueued");
                        packHashes(pack, queued.blockHashes());
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static void packHashes(MessagePacker pack, long[] hashes) throws IOException {
        pack.packArrayHeader(hashes.length);
        for (long hash : hashes) {
            packHash(pack, hash);
        }
    }

    /** Unsigned: a hash with the top bit set is written as uint64, not as a negative int64. */
    private static void packHash(MessagePacker pack, long hash) throws IOException {
        if (hash >= 0) {
            pack.packLong(hash);
        } else {
            byte[] uint64 = new byte[9];
            uint64[0] = UINT64;
            for (int i = 0; i < 8; i++) {
                uint64[8 - i] = (byte) (hash >>> (8 * i));
            }
            pack.writePayload(uint64);
        }
    }

    static KvEventBatch decode(byte[] bytes) {
        try (MessageUnpacker in = MessagePack.newDefaultUnpacker(bytes)) {
            Reader reader = new Reader(in, bytes.length);
            try {
                return reader.batch();
            } catch (MessageInsufficientBufferException e) {
                throw new MalformedEventException(reader.path(), "truncated: the input ends here");
            } catch (MessagePackException e) {
                throw new MalformedEventException(reader.path(), "not valid MessagePack: " + e.getMessage());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Reads values in order. It remembers where it is (a field path and, inside an array, an index) without building
     * strings, so an error anywhere names the field while the hot loops over hashes and token ids allocate nothing.
     */
    private static final class Reader {

        private final MessageUnpacker in;
        private final int length;
        private String field = "$";
        private int index = -1;

        Reader(MessageUnpacker in, int length) {
            this.in = in;
            this.length = length;
        }

        String path() {
            return index < 0 ? field : field + "[" + index + "]";
        }

        private Reader at(String field) {
            this.field = field;
            this.index = -1;
            return this;
        }

        private MalformedEventException malformed(String problem) {
            return new MalformedEventException(path(), problem);
        }

        KvEventBatch batch() throws IOException {
            int fields = at("$").arrayHeader(6);
            int v = (int) at("v").integer(0, Integer.MAX_VALUE);
            if (v != KvEventBatch.VERSION) {
                throw malformed("unsupported version " + v + ", this reader knows " + KvEventBatch.VERSION);
            }
            String podId = at("podId").text();
            if (podId.isEmpty()) {
                throw malformed("must not be empty");
            }
            long epoch = at("epoch").integer(Long.MIN_VALUE, Long.MAX_VALUE);
            long seq = at("seq").integer(0, Long.MAX_VALUE);
            long ts = at("ts").integer(Long.MIN_VALUE, Long.MAX_VALUE);
            int count = at("events").arrayHeader(0);
            List<KvEvent> events = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                events.add(event("events[" + i + "]"));
            }
            at("$").skip(fields - 6);
            if (in.hasNext()) {
                throw malformed("trailing bytes after the batch");
            }
            return new KvEventBatch(v, podId, epoch, seq, ts, events);
        }

        private KvEvent event(String path) throws IOException {
            int fields = at(path).arrayHeader(1);
            String type = at(path + ".type").text();
            return switch (type) {
                case "BlockStored" -> {
                    if (fields < 5) {
                        throw at(path).malformed("BlockStored needs blockHashes, parentHash, tokenIds and blockSize, got "
                                + (fields - 1) + " fields");
                    }
                    long[] hashes = at(path + ".blockHashes").hashes();
                    Long parent = at(path + ".parentHash").nil() ? null : hash();
                    int[] tokens = at(path + ".tokenIds").tokenIds();
                    int blockSize = (int) at(path + ".blockSize").integer(1, Integer.MAX_VALUE);
                    if ((long) hashes.length * blockSize != tokens.length) {
                        throw at(path + ".tokenIds").malformed("expected blockHashes × blockSize = "
                                + (long) hashes.length * blockSize + " token ids, got " + tokens.length);
                    }
                    at(path + ".loraId").skip(Math.min(1, fields - 5)); // adapters are not modelled; the slot keeps vLLM's positions
                    Medium medium = at(path + ".medium").medium(fields > 6);
                    at(path).skip(fields - 7);
                    yield new BlockStored(hashes, parent, tokens, blockSize, medium);
                }
                case "BlockRemoved" -> {
                    if (fields < 2) {
                        throw at(path).malformed("BlockRemoved needs blockHashes");
                    }
                    long[] hashes = at(path + ".blockHashes").hashes();
                    Medium medium = at(path + ".medium").medium(fields > 2);
                    at(path).skip(fields - 3);
                    yield new BlockRemoved(hashes, medium);
                }
                case "AllBlocksCleared" -> {
                    at(path).skip(fields - 1);
                    yield new AllBlocksCleared();
                }
                case "BlocksQueued" -> {
                    if (fields < 2) {
                        throw at(path).malformed("BlocksQueued needs blockHashes");
                    }
                    long[] hashes = at(path + ".blockHashes").hashes();
                    at(path).skip(fields - 2);
                    yield new BlocksQueued(hashes);
                }
                default -> throw malformed("unknown event type \"" + type
                        + "\" (known: BlockStored, BlockRemoved, AllBlocksCleared, BlocksQueued)");
            };
        }

        private MessageFormat next() throws IOException {
            if (!in.hasNext()) {
                throw malformed(length == 0 ? "empty input" : "truncated: the input ends here");
            }
            return in.getNextFormat();
        }

        private MalformedEventException expected(String what, MessageFormat got) {
            return malformed("expected " + what + ", got " + got.getValueType().name().toLowerCase(Locale.ROOT));
        }

        /** An array header of at least {@code minimum} elements, never more than the input could hold. */
        private int arrayHeader(int minimum) throws IOException {
            MessageFormat format = next();
            if (format.getValueType() != ValueType.ARRAY) {
                throw expected("an array", format);
            }
            int size = in.unpackArrayHeader();
            if (size < minimum) {
                throw malformed("expected at least " + minimum + " elements, got " + size);
            }
            if (size > length) {
                throw malformed("claims " + size + " elements in " + length + " bytes");
            }
            return size;
        }

        private long integer(long min, long max) throws IOException {
            MessageFormat format = next();
            if (format.getValueType() != ValueType.INTEGER) {
                throw expected("an integer", format);
            }
            if (format == MessageFormat.UINT64) {
                long raw = uint64();
                if (raw < 0) {
                    throw malformed("must be within " + min + ".." + max + ", got " + Long.toUnsignedString(raw));
                }
                return inRange(raw, min, max);
            }
            return inRange(in.unpackLong(), min, max);
        }

        private long inRange(long value, long min, long max) {
            if (value < min || value > max) {
                throw malformed("must be within " + min + ".." + max + ", got " + value);
            }
            return value;
        }

        private String text() throws IOException {
            MessageFormat format = next();
            if (format.getValueType() != ValueType.STRING) {
                throw expected("a string", format);
            }
            return in.unpackString();
        }

        private boolean nil() throws IOException {
            return next() == MessageFormat.NIL && in.tryUnpackNil();
        }

        private long hash() throws IOException {
            MessageFormat format = next();
            if (format == MessageFormat.UINT64) {
                return uint64();
            }
            if (format.getValueType() != ValueType.INTEGER) {
                throw expected("a block hash (an unsigned 64-bit integer)", format);
            }
            long value = in.unpackLong();
            if (value < 0) {
                throw malformed("a block hash is unsigned, got " + value);
            }
            return value;
        }

        /** The 8 bytes after a uint64 marker, read raw: every 64-bit pattern is a valid hash. */
        private long uint64() throws IOException {
            byte[] raw = in.readPayload(9);
            long value = 0;
            for (int i = 1; i < 9; i++) {
                value = (value << 8) | (raw[i] & 0xff);
            }
            return value;
        }

        /** A non-empty array of block hashes (no event names zero blocks). */
        private long[] hashes() throws IOException {
            long[] hashes = new long[arrayHeader(0)];
            if (hashes.length == 0) {
                throw malformed("must not be empty");
            }
            for (index = 0; index < hashes.length; index++) {
                hashes[index] = hash();
            }
            index = -1;
            return hashes;
        }

        private int[] tokenIds() throws IOException {
            int[] tokens = new int[arrayHeader(0)];
            for (index = 0; index < tokens.length; index++) {
                tokens[index] = (int) integer(0, 0xFFFF_FFFFL);
            }
            index = -1;
            return tokens;
        }

        /** vLLM leaves {@code medium} out (or nil) for the device tier. */
        private Medium medium(boolean present) throws IOException {
            if (!present || nil()) {
                return Medium.DEVICE;
            }
            String name = text();
            for (Medium medium : Medium.values()) {
                if (medium.name().equals(name)) {
                    return medium;
                }
            }
            // vLLM's own names for the tiers (its CPU offloading publishes "CPU").
            if (name.equals("GPU")) {
                return Medium.DEVICE;
            }
            if (name.equals("CPU")) {
                return Medium.HOST;
            }
            throw malformed("expected one of " + Arrays.toString(Medium.values()) + " (or vLLM's GPU, CPU), got \"" + name + "\"");
        }

        private void skip(int values) throws IOException {
            if (values > 0) {
                in.skipValue(values);
            }
        }
    }
}
