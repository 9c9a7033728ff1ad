package io.kvmesh.prefix.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessagePacker;
import org.msgpack.core.buffer.ArrayBufferOutput;
import org.msgpack.value.Value;

class KvEventPackTest {

    private final EventCodec codec = new EventCodec();

    private static KvEventBatch sampleBatch() {
        return new KvEventBatch("pod-a", 1732500000000L, 7, 1732500000123L, List.of(
                new BlockStored(new long[] {0x12f97814221eb941L, -1L, Long.MIN_VALUE, 0L}, null,
                        new int[] {1, 2, 127, 128, 255, 256, 65535, 65536, 100_000, -1, 0, 7, 8, 9, 10, 11}, 4, Medium.DEVICE),
                new BlockStored(new long[] {42L}, 0x92f97814221eb941L, new int[] {9, 9}, 2, Medium.HOST),
                new BlockRemoved(new long[] {-1L}, Medium.DEVICE),
                new AllBlocksCleared(),
                new BlocksQueued(new long[] {7L, -1L})));
    }

    @Test
    void everyHashAndTokenPatternSurvivesARoundTrip() {
        Random random = new Random(5);
        for (int round = 0; round < 200; round++) {
            int blocks = 1 + random.nextInt(8);
            long[] hashes = random.longs(blocks).toArray();
            int[] tokens = random.ints(blocks * 16).toArray();
            Long parent = random.nextBoolean() ? null : random.nextLong();
            KvEventBatch batch = new KvEventBatch("p" + round, random.nextLong(), random.nextLong(1L << 40), random.nextLong(),
                    List.of(new BlockStored(hashes, parent, tokens, 16, random.nextBoolean() ? Medium.DEVICE : Medium.HOST),
                            new BlockRemoved(hashes, Medium.HOST)));
            assertThat(codec.decodeBatch(codec.encode(batch))).isEqualTo(batch);
        }
        assertThat(codec.decodeBatch(codec.encode(sampleBatch()))).isEqualTo(sampleBatch());
    }

    /** Read back with msgpack's generic value reader: the events have vLLM's tagged array shape, hashes are unsigned. */
    @Test
    void eventsKeepVllmsArrayShape() throws IOException {
        Value batch = MessagePack.newDefaultUnpacker(codec.encode(sampleBatch())).unpackValue();
        assertThat(batch.toJson()).startsWith("[1,\"pod-a\",1732500000000,7,1732500000123,[");
        List<Value> events = batch.asArrayValue().get(5).asArrayValue().list();
        assertThat(events.get(0).toJson()).isEqualTo("[\"BlockStored\",[" + 0x12f97814221eb941L + ",18446744073709551615,9223372036854775808,0],"
                + "null,[1,2,127,128,255,256,65535,65536,100000,4294967295,0,7,8,9,10,11],4,null,\"DEVICE\"]");
        assertThat(events.get(1).toJson()).isEqualTo("[\"BlockStored\",[42]," + Long.toUnsignedString(0x92f97814221eb941L) + ",[9,9],2,null,\"HOST\"]");
        assertThat(events.get(2).toJson()).isEqualTo("[\"BlockRemoved\",[18446744073709551615],\"DEVICE\"]");
        assertThat(events.get(3).toJson()).isEqualTo("[\"AllBlocksCleared\"]");
        assertThat(events.get(4).toJson()).isEqualTo("[\"BlocksQueued\",[7,18446744073709551615]]");
    }

    @Test
    void vllmsOptionalTrailingFieldsMayBeAbsentOrExtended() throws IOException {
        // vLLM omits trailing defaults (no medium = the device) and a newer writer may append fields.
        byte[] bytes = pack(p -> {
            p.packArrayHeader(7).packInt(1).packString("p").packLong(1).packLong(0).packLong(5);
            p.packArrayHeader(3);
            p.packArrayHeader(5).packString("BlockStored").packArrayHeader(1).packLong(3).packNil().packArrayHeader(2).packInt(1).packInt(2).packInt(2);
            p.packArrayHeader(4).packString("BlockRemoved").packArrayHeader(1).packLong(3).packNil().packString("future");
            p.packArrayHeader(2).packString("AllBlocksCleared").packMapHeader(0);
            p.packString("a future batch field");
        });
        assertThat(codec.decodeBatch(bytes).events()).containsExactly(
                new BlockStored(new long[] {3}, null, new int[] {1, 2}, 2, Medium.DEVICE),
                new BlockRemoved(new long[] {3}, Medium.DEVICE),
                new AllBlocksCleared());
    }

    @Test
    void malformedBatchesNameTheField() throws IOException {
        assertMalformed(pack(p -> p.packInt(7)), "$", "expected an array, got integer");
        assertMalformed(pack(p -> p.packArrayHeader(2).packInt(1).packString("p")), "$", "expected at least 6 elements");
        assertMalformed(header(2, "p", 0, 0), "v", "unsupported version 2");
        assertMalformed(header(1, "", 0, 0), "podId", "must not be empty");
        assertMalformed(header(1, "p", -1, 0), "seq", "must be within 0..");
        assertMalformed(withEvent(p -> p.packArrayHeader(1).packString("BlockEvicted")), "events[0].type", "unknown event type \"BlockEvicted\"");
        assertMalformed(withEvent(p -> p.packArrayHeader(1).packInt(3)), "events[0].type", "expected a string");
        assertMalformed(withEvent(p -> p.packArrayHeader(3).packString("BlockStored").packArrayHeader(0).packNil()), "events[0]", "needs blockHashes");
        assertMalformed(withEvent(p -> stored(p.packArrayHeader(7).packString("BlockStored").packArrayHeader(0))),
                "events[0].blockHashes", "must not be empty");
        assertMalformed(withEvent(p -> stored(p.packArrayHeader(7).packString("BlockStored").packArrayHeader(1).packString("01"))),
                "events[0].blockHashes[0]", "expected a block hash");
        assertMalformed(withEvent(p -> stored(p.packArrayHeader(7).packString("BlockStored").packArrayHeader(1).packLong(-5))),
                "events[0].blockHashes[0]", "unsigned");
        assertMalformed(withEvent(p -> p.packArrayHeader(7).packString("BlockStored").packArrayHeader(1).packLong(1).packNil()
                .packArrayHeader(2).packInt(1).packLong(1L << 32).packInt(2).packNil().packString("DEVICE")),
                "events[0].tokenIds[1]", "must be within 0..4294967295");
        assertMalformed(withEvent(p -> p.packArrayHeader(7).packString("BlockStored").packArrayHeader(1).packLong(1).packNil()
                .packArrayHeader(3).packInt(1).packInt(1).packInt(1).packInt(2).packNil().packString("DEVICE")),
                "events[0].tokenIds", "expected blockHashes × blockSize = 2 token ids, got 3");
        assertMalformed(withEvent(p -> p.packArrayHeader(7).packString("BlockStored").packArrayHeader(1).packLong(1).packNil()
                .packArrayHeader(2).packInt(1).packInt(1).packInt(2).packNil().packString("TAPE")),
                "events[0].medium", "expected one of [DEVICE, HOST] (or vLLM's GPU, CPU), got \"TAPE\"");
        // vLLM's offloading connector names the tiers GPU and CPU: read as ours.
        for (String vllm : List.of("GPU", "CPU")) {
            KvEventBatch batch = codec.decodeBatch(withEvent(p -> p.packArrayHeader(7).packString("BlockStored").packArrayHeader(1)
                    .packLong(1).packNil().packArrayHeader(2).packInt(1).packInt(1).packInt(2).packNil().packString(vllm)));
            assertThat(((BlockStored) batch.events().getFirst()).medium())
                    .isEqualTo(vllm.equals("GPU") ? Medium.DEVICE : Medium.HOST);
        }
        assertMalformed(pack(p -> p.packArrayHeader(6).packInt(1).packString("p").packLong(1).packLong(0).packLong(5)
                .packArrayHeader(Integer.MAX_VALUE)), "events", "claims 2147483647 elements");
        byte[] good = codec.encode(sampleBatch());
        byte[] trailing = java.util.Arrays.copyOf(good, good.length + 1);
        assertMalformed(trailing, "$", "trailing bytes");
    }

    /** Every truncation and thousands of corrupted copies: each decodes or fails with a named field, nothing else. */
    @Test
    void corruptedInputNeverEscapesAsAnythingButMalformedEvent() {
        byte[] good = codec.encode(sampleBatch());
        for (int cut = 1; cut < good.length; cut++) {
            byte[] truncated = java.util.Arrays.copyOf(good, cut);
            assertThatThrownBy(() -> codec.decodeBatch(truncated)).as("cut at " + cut).isInstanceOf(MalformedEventException.class);
        }
        Random random = new Random(11);
        int decoded = 0;
        for (int round = 0; round < 20_000; round++) {
            byte[] corrupt = good.clone();
            for (int flips = 1 + random.nextInt(3); flips > 0; flips--) {
                corrupt[random.nextInt(corrupt.length)] = (byte) random.nextInt(256);
            }
            try {
                codec.decodeBatch(corrupt);
                decoded++;
            } catch (MalformedEventException expected) {
                assertThat(expected.field()).isNotBlank();
            }
        }
        assertThat(decoded).as("some corruptions still decode (a changed token id is a valid batch)").isPositive();
    }

    private void assertMalformed(byte[] bytes, String field, String problem) {
        assertThatThrownBy(() -> codec.decodeBatch(bytes))
                .isInstanceOfSatisfying(MalformedEventException.class, e -> assertThat(e.field()).isEqualTo(field))
                .hasMessageStartingWith(field + ": ")
                .hasMessageContaining(problem);
    }

    private static MessagePacker stored(MessagePacker p) throws IOException {
        return p.packNil().packArrayHeader(0).packInt(1).packNil().packString("DEVICE");
    }

    private static byte[] header(int v, String podId, long seq, int events) throws IOException {
        return pack(p -> p.packArrayHeader(6).packInt(v).packString(podId).packLong(1).packLong(seq).packLong(5).packArrayHeader(events));
    }

    private static byte[] withEvent(PackWriter event) throws IOException {
        return pack(p -> {
            p.packArrayHeader(6).packInt(1).packString("p").packLong(1).packLong(0).packLong(5).packArrayHeader(1);
            event.write(p);
        });
    }

    private static byte[] pack(PackWriter writer) throws IOException {
        ArrayBufferOutput out = new ArrayBufferOutput();
        try (MessagePacker packer = MessagePack.newDefaultPacker(out)) {
            writer.write(packer);
        }
        return out.toByteArray();
    }

    @FunctionalInterface
    private interface PackWriter {
        void write(MessagePacker packer) throws IOException;
    }
}
