package io.kvmesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.kvmesh.e2e.local.LocalMesh;
import io.kvmesh.model.tokenizer.ByteTokenizer;
import io.kvmesh.prefix.blocks.BlockHasher;
import io.kvmesh.prefix.events.EventCodec;
import io.kvmesh.prefix.events.KvEventBatch;
import io.kvmesh.prefix.events.PodIndexSnapshot;
import io.kvmesh.prefix.events.PoolTopics;
import io.kvmesh.prefix.index.IndexStats;
import io.kvmesh.prefix.index.LivePods;
import io.kvmesh.prefix.index.PodMatch;
import io.kvmesh.prefix.index.PrefixIndex;
import io.kvmesh.streams.FollowerListener;
import io.kvmesh.streams.IndexFollower;
import io.kvmesh.streams.StreamSettings;

/**
 * What the fault tests look at on a running {@link LocalMesh}: HTTP calls with deadlines (a hanging service fails the
 * test instead of hanging it), the router's and the cache index's view of the index, the pool's topics read directly,
 * and a <em>fresh fold</em> of them: an {@link IndexFollower} started in the test from offset 0 of {@code kv-events}
 * and {@code pod-status}, without snapshots, the reference every long-running index must equal.
 */
final class MeshProbe implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(20);
    private static final BlockHasher SIM_HASHER = new BlockHasher("kvmesh-sim", "", 16);
    private static final ByteTokenizer SIM_TOKENIZER = new ByteTokenizer();

    /** Three ~270-token system prompts the load and pod-kill tests draw their shared prefixes from. */
    static final List<String> LOAD_PREFIXES = List.of(
            "You are the kvmesh load test assistant. Answer briefly; name the pod that served you. ".repeat(3),
            "System: summarise the following incident report for an on-call engineer, in plain words. ".repeat(3),
            "Context: a catalogue of hiking trails with their lengths, climbs and the best season to walk. ".repeat(3));

    private final LocalMesh mesh;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    MeshProbe(LocalMesh mesh) {
        this.mesh = mesh;
    }

    /**
     * The restart tests' mesh: three sim pods and a router on a free port, logs in {@code target/e2e-runs/NAME};
     * {@link #close()} stops it.
     */
    static MeshProbe startMesh(String name, Map<String, String> podSettings) throws IOException {
        return new MeshProbe(LocalMesh.start(LocalMesh.Options.defaults(E2eRuns.root())
                .withPods(3)
                .withRouterPort(0)
                .withRunDirectory(E2eRuns.freshDirectory(name))
                .withSettings(podSettings), line -> { }));
    }

    LocalMesh mesh() {
        return mesh;
    }

    /** Closes the client, then the mesh. */
    @Override
    public void close() {
        http.close();
        mesh.close();
    }

    // ---- HTTP ---------------------------------------------------------------------------------------------------

    /** A completion body for the sim model. */
    static String completion(String prompt, int maxTokens) {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", "kvmesh-sim");
        body.put("prompt", prompt);
        body.put("max_tokens", maxTokens);
        return body.toString();
    }

    HttpResponse<String> post(String url, String body) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(REQUEST_TIMEOUT)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    JsonNode getJson(String url) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(REQUEST_TIMEOUT).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as("GET %s: %s", url, response.body()).isEqualTo(200);
        return JSON.readTree(response.body());
    }

    /** A completed request: which pod served it and how many prompt tokens it found cached. */
    record Served(String pod, int promptTokens, int cachedTokens) {
    }

    /** POSTs a completion to {@code baseUrl} (the router or a pod) and expects a complete 200. */
    Served complete(String baseUrl, String prompt) throws IOException, InterruptedException {
        HttpResponse<String> response = post(baseUrl + "/v1/completions", completion(prompt, 2));
        assertThat(response.statusCode()).as("completion at %s: %s", baseUrl, response.body()).isEqualTo(200);
        JsonNode json = JSON.readTree(response.body());
        assertThat(json.path("choices").path(0).path("text").isTextual()).as("complete answer: %s", response.body()).isTrue();
        return new Served(response.headers().firstValue("x-kvmesh-pod").orElse(null), json.path("usage").path("prompt_tokens").asInt(),
                json.path("usage").path("prompt_tokens_details").path("cached_tokens").asInt());
    }

    /** The router's ranking of a prompt, best first: pod → matched blocks (device + host), in rank order. */
    Map<String, Integer> explain(String routerUrl, String prompt) throws IOException, InterruptedException {
        HttpResponse<String> response = post(routerUrl + "/router/explain", completion(prompt, 2));
        assertThat(response.statusCode()).as("explain: %s", response.body()).isEqualTo(200);
        Map<String, Integer> ranked = new java.util.LinkedHashMap<>();
        JSON.readTree(response.body()).path("ranked").forEach(node ->
                ranked.put(node.path("podId").asText(), node.path("deviceBlocks").asInt() * 1000 + node.path("hostBlocks").asInt()));
        return ranked;
    }

    /** The cache index's matches for a prompt (as the sim tokenizes it): pod → device × 1000 + host blocks, pods with a match only. */
    Map<String, Integer> cacheIndexMatch(String prompt) throws IOException, InterruptedException {
        int[] tokens = tokens(prompt);
        StringBuilder body = new StringBuilder("{\"tokenIds\":[");
        for (int i = 0; i < tokens.length; i++) {
            body.append(i == 0 ? "" : ",").append(tokens[i]);
        }
        body.append("]}");
        return matches(post(mesh.cacheIndex().url() + "/index/match", body.toString()));
    }

    /** The cache index's holders of one block: pod → device × 1000 + host (0 or 1 each). */
    Map<String, Integer> cacheIndexHolders(long blockHash) throws IOException, InterruptedException {
        return matches(post(mesh.cacheIndex().url() + "/index/match",
                "{\"blockHashes\":[\"" + io.kvmesh.prefix.blocks.BlockHashFormat.format(blockHash) + "\"]}"));
    }

    private static Map<String, Integer> matches(HttpResponse<String> response) throws IOException {
        assertThat(response.statusCode()).as("index match: %s", response.body()).isEqualTo(200);
        Map<String, Integer> matched = new TreeMap<>();
        JSON.readTree(response.body()).path("matches").forEach(node ->
                matched.put(node.path("podId").asText(), node.path("deviceBlocks").asInt() * 1000 + node.path("hostBlocks").asInt()));
        return matched;
    }

    /** The prompt's token ids as the sim pods and the router compute them (byte tokens, BOS first). */
    static int[] tokens(String prompt) {
        return SIM_TOKENIZER.encode(prompt, true);
    }

    static long[] blockHashes(String prompt) {
        return SIM_HASHER.hashFullBlocks(tokens(prompt));
    }

    /** Index size as {@code /router/stats} or {@code /index/stats} report it. */
    record Size(int pods, long distinctBlocks, long deviceEntries, long hostEntries) {
        static Size of(JsonNode stats) {
            return new Size(stats.has("indexedPods") ? stats.path("indexedPods").asInt() : stats.path("pods").asInt(),
                    stats.path("distinctBlocks").asLong(), stats.path("deviceEntries").asLong(), stats.path("hostEntries").asLong());
        }

        static Size of(IndexStats stats) {
            return new Size(stats.pods(), stats.distinctBlocks(), stats.deviceEntries(), stats.hostEntries());
        }
    }

    JsonNode routerStats(String routerUrl) throws IOException, InterruptedException {
        return getJson(routerUrl + "/router/stats");
    }

    JsonNode cacheIndexStats() throws IOException, InterruptedException {
        return getJson(mesh.cacheIndex().url() + "/index/stats");
    }

    // ---- waiting --------------------------------------------------------------------------------------------------

    /**
     * Polls {@code condition} until it holds; fails after {@code timeout} with {@code what} and the last observation
     * ({@code condition} may record one in {@code seen}). Exceptions while polling (a service restarting) count as "not yet".
     */
    static Duration await(String what, Duration timeout, AtomicReference<Object> seen, Callable<Boolean> condition)
            throws InterruptedException {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        Exception last = null;
        while (true) {
            try {
                if (condition.call()) {
                    return Duration.ofNanos(System.nanoTime() - start);
                }
            } catch (AssertionError | Exception e) {
                last = e instanceof Exception exception ? exception : new RuntimeException(e);
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + timeout.toSeconds() + " s: " + what
                        + (seen == null ? "" : "; last seen " + seen.get()) + (last == null ? "" : "; last error " + last), last);
            }
            Thread.sleep(200);
        }
    }

    static Duration await(String what, Duration timeout, Callable<Boolean> condition) throws InterruptedException {
        return await(what, timeout, null, condition);
    }

    // ---- topics ---------------------------------------------------------------------------------------------------

    PoolTopics topics() {
        return new PoolTopics(mesh.topicPrefix());
    }

    private KafkaConsumer<String, byte[]> consumer() {
        Properties config = new Properties();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, mesh.broker().bootstrapServers());
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "15000");
        return new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer());
    }

    /** Every record of {@code topic} from its log start to its current end, in partition order. */
    List<ConsumerRecord<String, byte[]>> readAll(String topic) {
        try (KafkaConsumer<String, byte[]> kafka = consumer()) {
            List<TopicPartition> partitions = kafka.partitionsFor(topic).stream()
                    .map(info -> new TopicPartition(topic, info.partition())).toList();
            kafka.assign(partitions);
            kafka.seekToBeginning(partitions);
            Map<TopicPartition, Long> ends = kafka.endOffsets(partitions);
            List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (partitions.stream().anyMatch(p -> kafka.position(p) < ends.get(p))) {
                assertThat(System.nanoTime()).as("reading %s to its end", topic).isLessThan(deadline);
                kafka.poll(Duration.ofMillis(200)).forEach(records::add);
            }
            return records;
        }
    }

    /** The latest snapshot per pod in {@code kv-index} (tombstoned pods absent). */
    Map<String, PodIndexSnapshot> latestSnapshots() {
        EventCodec codec = new EventCodec();
        Map<String, PodIndexSnapshot> latest = new TreeMap<>();
        for (ConsumerRecord<String, byte[]> record : readAll(topics().kvIndex())) {
            if (record.value() == null) {
                latest.remove(record.key());
            } else {
                PodIndexSnapshot snapshot = codec.decodeSnapshot(record.value());
                latest.put(snapshot.podId(), snapshot);
            }
        }
        return latest;
    }

    /** Per pod, the {@code ts} (epoch milliseconds) of its latest heartbeat on {@code pod-status}. */
    Map<String, Long> latestStatusTimes() {
        EventCodec codec = new EventCodec();
        Map<String, Long> latest = new TreeMap<>();
        for (ConsumerRecord<String, byte[]> record : readAll(topics().podStatus())) {
            if (record.value() == null) {
                latest.remove(record.key());
            } else {
                io.kvmesh.prefix.events.PodStatus status = codec.decodePodStatus(record.value());
                latest.merge(status.podId(), status.ts(), Math::max);
            }
        }
        return latest;
    }

    /** Per pod, the {@code seq} of its last KV event batch on {@code kv-events} (of its latest epoch). */
    Map<String, Long> lastPublishedSeq() {
        EventCodec codec = new EventCodec();
        Map<String, long[]> last = new HashMap<>();
        for (ConsumerRecord<String, byte[]> record : readAll(topics().kvEvents())) {
            if (record.value() == null) {
                continue;
            }
            KvEventBatch batch = codec.decodeBatch(record.value());
            last.merge(batch.podId(), new long[] {batch.epoch(), batch.seq()},
                    (a, b) -> b[0] > a[0] || (b[0] == a[0] && b[1] > a[1]) ? b : a);
        }
        Map<String, Long> seqs = new TreeMap<>();
        last.forEach((pod, epochSeq) -> seqs.put(pod, epochSeq[1]));
        return seqs;
    }

    /** KV events on {@code kv-events} by kind ({@code BlockStored}, {@code BlockRemoved}, {@code AllBlocksCleared}). */
    Map<String, Long> kvEventKinds() {
        EventCodec codec = new EventCodec();
        Map<String, Long> kinds = new TreeMap<>();
        for (ConsumerRecord<String, byte[]> record : readAll(topics().kvEvents())) {
            if (record.value() != null) {
                codec.decodeBatch(record.value()).events().forEach(event -> kinds.merge(event.getClass().getSimpleName(), 1L, Long::sum));
            }
        }
        return kinds;
    }

    /** Records on {@code kv-events} so far: the sum of its partitions' end offsets. */
    long kvEventsEnd() {
        String topic = topics().kvEvents();
        try (KafkaConsumer<String, byte[]> kafka = consumer()) {
            List<TopicPartition> partitions = kafka.partitionsFor(topic).stream()
                    .map(info -> new TopicPartition(topic, info.partition())).toList();
            return kafka.endOffsets(partitions).values().stream().mapToLong(Long::longValue).sum();
        }
    }

    /** Deletes every record of {@code kv-events} up to its current end, as its retention eventually would. */
    void truncateKvEvents() throws Exception {
        String topic = topics().kvEvents();
        try (KafkaConsumer<String, byte[]> kafka = consumer();
             Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, mesh.broker().bootstrapServers()))) {
            List<TopicPartition> partitions = kafka.partitionsFor(topic).stream()
                    .map(info -> new TopicPartition(topic, info.partition())).toList();
            Map<TopicPartition, RecordsToDelete> delete = new HashMap<>();
            kafka.endOffsets(partitions).forEach((partition, end) -> delete.put(partition, RecordsToDelete.beforeOffset(end)));
            admin.deleteRecords(delete).all().get(30, java.util.concurrent.TimeUnit.SECONDS);
            Map<TopicPartition, Long> starts = kafka.beginningOffsets(partitions);
            Map<TopicPartition, Long> ends = kafka.endOffsets(partitions);
            assertThat(starts).as("kv-events emptied").isEqualTo(ends);
        }
    }

    // ---- the reference: a fresh fold ------------------------------------------------------------------------------

    /**
     * A fresh index folded from offset 0 of {@code kv-events} and {@code pod-status} (no snapshots), with the mesh's
     * heartbeat timeout, by the same {@link IndexFollower} the services run. Close it when done.
     */
    FreshFold freshFold() throws InterruptedException {
        StreamSettings settings = new StreamSettings(mesh.broker().bootstrapServers(), topics(), 4, Duration.ofHours(1), false);
        PrefixIndex index = new PrefixIndex();
        LivePods pods = new LivePods(index, 3_000);
        IndexFollower follower = new IndexFollower(settings, index, pods, false, FollowerListener.NONE);
        follower.start();
        assertThat(follower.awaitCaughtUp(Duration.ofSeconds(30))).as("fresh fold caught up").isTrue();
        return new FreshFold(index, pods, follower);
    }

    record FreshFold(PrefixIndex index, LivePods pods, IndexFollower follower) implements AutoCloseable {

        Size size() {
            return Size.of(index.stats());
        }

        /** Pod → device × 1000 + host matched blocks for a prompt, pods with a match only. */
        Map<String, Integer> match(String prompt) {
            Map<String, Integer> matched = new TreeMap<>();
            for (PodMatch match : index.match(blockHashes(prompt))) {
                matched.put(match.podId(), match.deviceBlocks() * 1000 + match.hostBlocks());
            }
            return matched;
        }

        /** Every block the fold holds → its holders as pod → device × 1000 + host (0 or 1 each). */
        Map<Long, Map<String, Integer>> holders() {
            Map<Long, Map<String, Integer>> holders = new HashMap<>();
            for (String pod : index.pods()) {
                PodIndexSnapshot snapshot = index.snapshot(pod, Map.of()).orElseThrow();
                for (long hash : snapshot.deviceBlocks()) {
                    holders.computeIfAbsent(hash, h -> new TreeMap<>()).merge(pod, 1000, Integer::sum);
                }
                for (long hash : snapshot.hostBlocks()) {
                    holders.computeIfAbsent(hash, h -> new TreeMap<>()).merge(pod, 1, Integer::sum);
                }
            }
            return holders;
        }

        /** The pod's state as (epoch, lastSeq, sorted device blocks, sorted host blocks). */
        String podState(String pod) {
            return index.snapshot(pod, Map.of()).map(MeshProbe::describe).orElse("absent");
        }

        List<String> livePods() {
            return pods.live().stream().map(io.kvmesh.prefix.events.PodStatus::podId).sorted().toList();
        }

        @Override
        public void close() {
            follower.close();
        }
    }

    /** A snapshot's content, independent of block order and source offsets. */
    static String describe(PodIndexSnapshot snapshot) {
        long[] device = snapshot.deviceBlocks();
        long[] host = snapshot.hostBlocks();
        Arrays.sort(device);
        Arrays.sort(host);
        return "epoch=" + snapshot.epoch() + " seq=" + snapshot.lastSeq() + " device=" + device.length + ":" + Arrays.hashCode(device)
                + " host=" + host.length + ":" + Arrays.hashCode(host);
    }
}
