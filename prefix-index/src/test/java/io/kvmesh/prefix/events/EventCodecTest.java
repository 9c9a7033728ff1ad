package io.kvmesh.prefix.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;

class EventCodecTest {

    private final EventCodec codec = new EventCodec();

    private static KvEventBatch sampleBatch() {
        return new KvEventBatch("pod-a", 1732500000000L, 7, 1732500000123L, List.of(
                new BlockStored(new long[] {0x12f97814221eb941L, -1L}, null, new int[] {1, 2, 3, 4, 5, 6, 7, -1}, 4, Medium.DEVICE),
                new BlockStored(new long[] {42L}, 0x12f97814221eb941L, new int[] {9, 9}, 2, Medium.HOST),
                new BlockRemoved(new long[] {-1L}, Medium.DEVICE),
                new AllBlocksCleared(),
                new BlocksQueued(new long[] {7L, -1L})));
    }

    private static PodStatus sampleStatus() {
        return new PodStatus("pod-a", 1732500000000L, "10.0.0.7:8000", "llama-3-8b", 16, true, 3, 2, 1,
                new BlockUsage(100, 4096), new BlockUsage(0, 16384), 0.75, 1234.5, 1732500000500L);
    }

    private KvEventBatch decode(String json) {
        return codec.decodeBatch(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void batchSurvivesARoundTrip() {
        KvEventBatch batch = sampleBatch();
        assertThat(codec.decodeBatch(codec.encode(batch))).isEqualTo(batch);
        assertThat(codec.decodeBatch(codec.encodeJson(batch))).isEqualTo(batch);
    }

    @Test
    void batchJsonUsesHexHashesAndUnsignedTokenIds() {
        String json = new String(codec.encodeJson(sampleBatch()), StandardCharsets.UTF_8);
        assertThat(json)
                .startsWith("{\"v\":1,\"podId\":\"pod-a\",\"epoch\":1732500000000,\"seq\":7,\"ts\":1732500000123,\"events\":[")
                .contains("{\"type\":\"BlockStored\",\"blockHashes\":[\"12f97814221eb941\",\"ffffffffffffffff\"],\"parentHash\":null,"
                        + "\"tokenIds\":[1,2,3,4,5,6,7,4294967295],\"blockSize\":4,\"medium\":\"DEVICE\"}")
                .contains("{\"type\":\"BlockRemoved\",\"blockHashes\":[\"ffffffffffffffff\"],\"medium\":\"DEVICE\"}")
                .contains("{\"type\":\"AllBlocksCleared\"}")
                .contains("{\"type\":\"BlocksQueued\",\"blockHashes\":[\"0000000000000007\",\"ffffffffffffffff\"]}");
    }

    @Test
    void podStatusSurvivesARoundTrip() {
        PodStatus status = sampleStatus();
        assertThat(codec.decodePodStatus(codec.encode(status))).isEqualTo(status);
    }

    @Test
    void aHeartbeatFromAnOlderPodHasNoRequestRate() {
        String json = new String(codec.encode(new PodStatus("pod-a", 1, "h:1", "m", 16, true, 0, 0, 0, new BlockUsage(0, 1),
                new BlockUsage(0, 0), 0.5, 10, 2.5, 7)), StandardCharsets.UTF_8);
        assertThat(codec.decodePodStatus(json.getBytes(StandardCharsets.UTF_8)).requestsPerSecond()).isEqualTo(2.5);
        String older = json.replace("\"requestsPerSecond\":2.5,", "");
        assertThat(older).doesNotContain("requestsPerSecond");
        assertThat(codec.decodePodStatus(older.getBytes(StandardCharsets.UTF_8)).requestsPerSecond()).isZero();
    }

    @Test
    void unknownFieldsAreIgnoredForForwardCompatibility() {
        KvEventBatch batch = decode("""
                {"v":1,"podId":"p","epoch":1,"seq":0,"ts":5,"newField":{"x":1},"events":[
                  {"type":"BlockRemoved","blockHashes":["0000000000000001"],"medium":"HOST","future":true}]}""");
        assertThat(batch.events()).containsExactly(new BlockRemoved(new long[] {1L}, Medium.HOST));
    }

    @Test
    void parentHashMayBeAbsent() {
        KvEventBatch batch = decode("""
                {"v":1,"podId":"p","epoch":1,"seq":0,"ts":5,"events":[
                  {"type":"BlockStored","blockHashes":["0000000000000001"],"tokenIds":[1,2],"blockSize":2,"medium":"DEVICE"}]}""");
        assertThat(((BlockStored) batch.events().getFirst()).parentHash()).isNull();
    }

    @Test
    void malformedBatchesNameTheField() {
        String stored = "{\"type\":\"BlockStored\",\"blockHashes\":[\"0000000000000001\"],\"tokenIds\":[1,2],\"blockSize\":2,\"medium\":\"DEVICE\"}";
        assertMalformed("", "$", "empty input");
        assertMalformed("{\"v\":1,", "$", "not valid JSON");
        assertMalformed(" [1,2]", "$", "expected a JSON object");
        assertMalformed("{\"v\":1,\"podId\":\"p\",\"epoch\":1,\"seq\":0,\"ts\":5,\"events\":[]} trailing", "$", "not valid JSON");
        assertMalformed("{\"v\":1,\"v\":1,\"podId\":\"p\",\"epoch\":1,\"seq\":0,\"ts\":5,\"events\":[]}", "$", "Duplicate field 'v'");
        assertMalformed("{\"v\":2,\"podId\":\"p\",\"epoch\":1,\"seq\":0,\"ts\":5,\"events\":[]}", "v", "unsupported version 2");
        assertMalformed("{\"podId\":\"p\",\"epoch\":1,\"seq\":0,\"ts\":5,\"events\":[]}", "v", "is required");
        assertMalformed("{\"v\":1,\"epoch\":1,\"seq\":0,\"ts\":5,\"events\":[]}", "podId", "is required");
        assertMalformed("{\"v\":1,\"podId\":\"\",\"epoch\":1,\"seq\":0,\"ts\":5,\"events\":[]}", "podId", "must not be empty");
        assertMalformed("{\"v\":1,\"podId\":7,\"epoch\":1,\"seq\":0,\"ts\":5,\"events\":[]}", "podId", "expected a string");
        assertMalformed("{\"v\":1,\"podId\":\"p\",\"epoch\":\"1\",\"seq\":0,\"ts\":5,\"events\":[]}", "epoch", "expected an integer");
        assertMalformed("{\"v\":1,\"podId\":\"p\",\"epoch\":1.5,\"seq\":0,\"ts\":5,\"events\":[]}", "epoch", "expected an integer");
        assertMalformed("{\"v\":1,\"podId\":\"p\",\"epoch\":1,\"seq\":-1,\"ts\":5,\"events\":[]}", "seq", "must be within 0..");
        assertMalformed("{\"v\":1,\"podId\":\"p\",\"epoch\":1,\"seq\":0,\"ts\":5,\"events\":{}}", "events", "expected an array");
        assertMalformed(batchWith("7"), "events[0]", "expected a JSON object");
        assertMalformed(batchWith(stored + ",{\"type\":\"BlockEvicted\"}"), "events[1].type", "unknown event type \"BlockEvicted\"");
        assertMalformed(batchWith("{\"blockHashes\":[]}"), "events[0].type", "is required");
        assertMalformed(batchWith(stored.replace("[\"0000000000000001\"]", "[]")), "events[0].blockHashes", "must not be empty");
        assertMalformed(batchWith(stored.replace("0000000000000001", "xyz")), "events[0].blockHashes[0]", "16 hex digits");
        assertMalformed(batchWith(stored.replace("\"0000000000000001\"", "1")), "events[0].blockHashes[0]", "expected a block hash");
        assertMalformed(batchWith(stored.replace("[1,2]", "[1,4294967296]")), "events[0].tokenIds[1]", "must be within 0..4294967295");
        assertMalformed(batchWith(stored.replace("[1,2]", "[-1,2]")), "events[0].tokenIds[0]", "must be within 0..4294967295");
        assertMalformed(batchWith(stored.replace("[1,2]", "[1,2,3]")), "events[0].tokenIds", "expected blockHashes × blockSize = 2");
        assertMalformed(batchWith(stored.replace("\"blockSize\":2", "\"blockSize\":0")), "events[0].blockSize", "must be within 1..");
        assertMalformed(batchWith(stored.replace("DEVICE", "GPU")), "events[0].medium", "expected one of [DEVICE, HOST], got \"GPU\"");
        assertMalformed(batchWith(stored.replace("\"tokenIds\":[1,2],", "")), "events[0].tokenIds", "is required");
    }

    @Test
    void malformedPodStatusNamesTheField() {
        String good = new String(codec.encode(sampleStatus()), StandardCharsets.UTF_8);
        assertMalformedStatus(good.replace("\"ready\":true", "\"ready\":\"yes\""), "ready", "expected true or false");
        assertMalformedStatus(good.replace("\"used\":100", "\"used\":5000"), "deviceBlocks", "0 <= used <= total");
        assertMalformedStatus(good.replace("\"hostBlocks\":{\"used\":0,\"total\":16384},", ""), "hostBlocks", "is required");
        assertMalformedStatus(good.replace("\"prefixHitRate\":0.75", "\"prefixHitRate\":1.5"), "prefixHitRate", "within 0..1");
        assertMalformedStatus(good.replace("\"running\":3", "\"running\":-3"), "running", "must be within 0..");
        assertMalformedStatus(good.replace("\"total\":4096", "\"total\":\"x\""), "deviceBlocks.total", "expected an integer");
    }

    private static String batchWith(String events) {
        return "{\"v\":1,\"podId\":\"p\",\"epoch\":1,\"seq\":0,\"ts\":5,\"events\":[" + events + "]}";
    }

    private void assertMalformed(String json, String field, String problem) {
        assertThatThrownBy(() -> decode(json))
                .as(json)
                .isInstanceOfSatisfying(MalformedEventException.class, e -> assertThat(e.field()).isEqualTo(field))
                .hasMessageStartingWith(field + ": ")
                .hasMessageContaining(problem);
    }

    private void assertMalformedStatus(String json, String field, String problem) {
        assertThatThrownBy(() -> codec.decodePodStatus(json.getBytes(StandardCharsets.UTF_8)))
                .as(json)
                .isInstanceOfSatisfying(MalformedEventException.class, e -> assertThat(e.field()).isEqualTo(field))
                .hasMessageContaining(problem);
    }

    @Test
    void snapshotSurvivesARoundTripAndNamesBadFields() {
        PodIndexSnapshot snapshot = new PodIndexSnapshot("pod-a", 5, 42, new long[] {1L, -1L}, new long[0], java.util.Map.of(0, 10L, 3, 7L));
        assertThat(codec.decodeSnapshot(codec.encode(snapshot))).isEqualTo(snapshot);
        String json = new String(codec.encode(snapshot), StandardCharsets.UTF_8);
        assertThatThrownBy(() -> codec.decodeSnapshot(json.replace("\"3\":7", "\"x\":7").getBytes(StandardCharsets.UTF_8)))
                .hasMessageStartingWith("sourceOffsets.x: ");
        assertThatThrownBy(() -> codec.decodeSnapshot(json.replace("\"hostBlocks\":[]", "\"hostBlocks\":[1]").getBytes(StandardCharsets.UTF_8)))
                .hasMessageStartingWith("hostBlocks[0]: ");
    }
}
