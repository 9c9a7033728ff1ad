package io.kvmesh.runtime.api;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasLength;
import static org.hamcrest.Matchers.startsWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

import io.kvmesh.kafka.broker.quarkus.KafkaBrokerTestResource;
import io.kvmesh.prefix.blocks.BlockHasher;
import io.kvmesh.prefix.events.BlockStored;
import io.kvmesh.prefix.events.EventCodec;
import io.kvmesh.prefix.events.KvEvent;
import io.kvmesh.prefix.events.KvEventBatch;
import io.kvmesh.prefix.events.PodStatus;
import io.kvmesh.model.tokenizer.ByteTokenizer;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;

@QuarkusTest
@QuarkusTestResource(KafkaBrokerTestResource.class)
class OpenAiApiTest {

    @jakarta.inject.Inject
    io.kvmesh.runtime.app.RuntimePod pod;

    private static final String SYSTEM = "You are a careful assistant. ".repeat(12);

    private static String completion(String prompt, int maxTokens, boolean stream) {
        return "{\"model\":\"kvmesh-sim\",\"prompt\":\"" + prompt + "\",\"max_tokens\":" + maxTokens + ",\"stream\":" + stream + "}";
    }

    @Test
    void completesAndReportsCachedTokensOnARepeatedPrefix() {
        given().contentType(ContentType.JSON).body(completion(SYSTEM + "first question", 8, false))
                .post("/v1/completions").then().statusCode(200)
                .header("x-kvmesh-pod", startsWith(""))
                .body("object", equalTo("text_completion"))
                .body("choices[0].text", hasLength(8))
                .body("choices[0].finish_reason", equalTo("length"))
                .body("usage.completion_tokens", equalTo(8))
                .body("usage.prompt_tokens_details.cached_tokens", equalTo(0));
        given().contentType(ContentType.JSON).body(completion(SYSTEM + "second question", 8, false))
                .post("/v1/completions").then().statusCode(200)
                .body("usage.prompt_tokens_details.cached_tokens", greaterThanOrEqualTo(SYSTEM.length() - 16));
    }

    @Test
    void streamsServerSentEventsEndingInDone() {
        String body = given().contentType(ContentType.JSON)
                .body("{\"model\":\"kvmesh-sim\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":5,"
                        + "\"stream\":true,\"stream_options\":{\"include_usage\":true}}")
                .post("/v1/chat/completions").then().statusCode(200)
                .contentType(startsWith("text/event-stream")).extract().asString();
        List<String> events = body.lines().filter(line -> !line.isEmpty()).toList();
        assertThat(events).allMatch(line -> line.startsWith("data: "));
        assertThat(events.getFirst()).contains("\"role\":\"assistant\"").contains("chat.completion.chunk");
        assertThat(events.get(events.size() - 2)).contains("\"usage\"").contains("\"completion_tokens\":5");
        assertThat(events.getLast()).isEqualTo("data: [DONE]");
        assertThat(events.stream().filter(e -> e.contains("\"finish_reason\":\"length\""))).hasSize(1);
    }

    @Test
    void stopStringsEndTheOutputBeforeTheStopAndAreNeverStreamed() {
        String prompt = "stop strings";
        String full = given().contentType(ContentType.JSON).body(completion(prompt, 40, false))
                .post("/v1/completions").then().statusCode(200).extract().path("choices[0].text");
        String stop = full.substring(12, 15);
        String expected = full.substring(0, full.indexOf(stop));
        String body = "{\"model\":\"kvmesh-sim\",\"prompt\":\"" + prompt + "\",\"max_tokens\":40,\"stop\":[\"" + stop + "\"]";
        given().contentType(ContentType.JSON).body(body + "}").post("/v1/completions").then().statusCode(200)
                .body("choices[0].text", equalTo(expected))
                .body("choices[0].finish_reason", equalTo("stop"));
        String events = given().contentType(ContentType.JSON).body(body + ",\"stream\":true}").post("/v1/completions")
                .then().statusCode(200).extract().asString();
        StringBuilder streamed = new StringBuilder();
        for (String line : events.lines().filter(l -> l.startsWith("data: {")).toList()) {
            streamed.append((String) io.restassured.path.json.JsonPath.from(line.substring(6)).get("choices[0].text"));
        }
        assertThat(streamed.toString()).isEqualTo(expected);
        assertThat(events).contains("\"finish_reason\":\"stop\"").endsWith("data: [DONE]\n\n");
    }

    @Test
    void badRequestsGetOpenAiErrors() {
        assertError("{\"model\":\"kvmesh-sim\",", "/v1/completions", 400, null);
        assertError("{\"model\":\"kvmesh-sim\"}", "/v1/completions", 400, "prompt");
        assertError("{\"model\":\"kvmesh-sim\"}", "/v1/chat/completions", 400, "messages");
        assertError(completion("x", 0, false), "/v1/completions", 400, "max_tokens");
        assertError(completion("x", 100000, false), "/v1/completions", 400, "max_tokens");
        assertError("{\"model\":\"gpt-9\",\"prompt\":\"x\"}", "/v1/completions", 404, "model");
        given().get("/v1/nothing").then().statusCode(404).body("error.code", equalTo("not_found"));
        // Token ids the model does not have; an empty id list.
        assertError("{\"model\":\"kvmesh-sim\",\"prompt\":[1,2,100000]}", "/v1/completions", 400, "prompt");
        assertError("{\"model\":\"kvmesh-sim\",\"prompt\":[]}", "/v1/completions", 400, "prompt");
        // A prompt that alone exceeds the context names the prompt; one that fits but leaves no room names max_tokens.
        String huge = "x".repeat(9000);
        given().contentType(ContentType.JSON).body(completion(huge, 16, false)).post("/v1/completions").then()
                .statusCode(400).body("error.param", equalTo("prompt"))
                .body("error.message", org.hamcrest.Matchers.containsString("maximum context length is 8192 tokens"));
        assertError(completion("x".repeat(8000), 1000, false), "/v1/completions", 400, "max_tokens");
    }

    /** vLLM's cache_salt: the same prompt under two salts shares nothing; under one salt it is cached. */
    @Test
    void cacheSaltsIsolateThePrefixCache() {
        String prompt = "Tenant isolation means separate prefix caches. ".repeat(6);
        String body = "{\"model\":\"kvmesh-sim\",\"prompt\":\"" + prompt + "\",\"max_tokens\":2,\"cache_salt\":\"%s\"}";
        given().contentType(ContentType.JSON).body(body.formatted("salt-a")).post("/v1/completions").then().statusCode(200)
                .body("usage.prompt_tokens_details.cached_tokens", equalTo(0));
        given().contentType(ContentType.JSON).body(body.formatted("salt-b")).post("/v1/completions").then().statusCode(200)
                .body("usage.prompt_tokens_details.cached_tokens", equalTo(0));
        given().contentType(ContentType.JSON).body(completion(prompt, 2, false)).post("/v1/completions").then().statusCode(200)
                .body("usage.prompt_tokens_details.cached_tokens", equalTo(0));
        given().contentType(ContentType.JSON).body(body.formatted("salt-a")).post("/v1/completions").then().statusCode(200)
                .body("usage.prompt_tokens_details.cached_tokens", greaterThanOrEqualTo(prompt.length() - 16));
        assertError(body.formatted(""), "/v1/completions", 400, "cache_salt");
    }

    @Test
    void invalidUtf8IsRefusedAndLoneSurrogatesAreServed() {
        byte[] prefix = "{\"model\":\"kvmesh-sim\",\"prompt\":\"caf".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] suffix = "\",\"max_tokens\":2}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] body = new byte[prefix.length + 2 + suffix.length];
        System.arraycopy(prefix, 0, body, 0, prefix.length);
        body[prefix.length] = (byte) 0xC3; // a two-byte sequence cut short
        body[prefix.length + 1] = (byte) 0x28;
        System.arraycopy(suffix, 0, body, prefix.length + 2, suffix.length);
        given().contentType(ContentType.JSON).body(body).post("/v1/completions").then().statusCode(400)
                .body("error.type", equalTo("invalid_request_error"))
                .body("error.message", org.hamcrest.Matchers.containsString("UTF-8"));
        // JSON escapes may spell a lone surrogate, which is valid JSON but not a character: it is served (encoded as
        // UTF-8 replacement), never an error.
        given().contentType(ContentType.JSON).body("{\"model\":\"kvmesh-sim\",\"prompt\":\"a\\ud800b\",\"max_tokens\":2}")
                .post("/v1/completions").then().statusCode(200).body("usage.completion_tokens", equalTo(2));
        // An empty text prompt is BOS alone: served.
        given().contentType(ContentType.JSON).body(completion("", 2, false)).post("/v1/completions").then().statusCode(200);
    }

    /**
     * A turn that declares a tool call ends with finish_reason tool_calls and pauses its session (header, else the
     * user field); the session's next turn, the previous context plus the tool's result, resumes from the kept KV.
     */
    @Test
    void aToolCallPausesTheSessionAndTheNextTurnResumesFromItsKv() {
        String prompt = "Agent: I will look this up with the calculator tool before answering the question. ";
        String first = given().contentType(ContentType.JSON).header("x-kvmesh-session", "session-1")
                .body("{\"model\":\"kvmesh-sim\",\"prompt\":\"" + prompt + "\",\"max_tokens\":6,\"kvmesh_tool_call\":\"calculator\"}")
                .post("/v1/completions").then().statusCode(200)
                .body("choices[0].finish_reason", equalTo("tool_calls"))
                .extract().path("choices[0].text");
        assertThat(metricSum("kvmesh_lamps_paused_sessions")).isGreaterThanOrEqualTo(1);
        double decisions = metricSum("kvmesh_lamps_pause_decisions_total");
        assertThat(decisions).isGreaterThanOrEqualTo(1);

        String resumed = prompt + first + " Tool result: 42.";
        int cached = given().contentType(ContentType.JSON).header("x-kvmesh-session", "session-1")
                .body(completion(resumed, 4, false)).post("/v1/completions").then().statusCode(200)
                .body("choices[0].finish_reason", equalTo("length"))
                .extract().path("usage.prompt_tokens_details.cached_tokens");
        // BOS + prompt + 6 generated tokens, whole blocks of 16.
        assertThat(cached).isEqualTo((1 + prompt.length() + 6 - 1) / 16 * 16);
        assertThat(metricSum("kvmesh_lamps_resumed_total")).isGreaterThanOrEqualTo(1);

        // OpenAI's user field names the session when no header does.
        given().contentType(ContentType.JSON)
                .body("{\"model\":\"kvmesh-sim\",\"messages\":[{\"role\":\"user\",\"content\":\"weather?\"}],"
                        + "\"max_tokens\":3,\"user\":\"alice\",\"kvmesh_tool_call\":\"search\"}")
                .post("/v1/chat/completions").then().statusCode(200)
                .body("choices[0].finish_reason", equalTo("tool_calls"));
        assertThat(metricSum("kvmesh_lamps_pause_decisions_total")).isEqualTo(decisions + 1);

        assertThat(pod.engine().decisions().calls().predictSeconds("web.search"))
                .as("kvmesh.lamps.tool-api-durations.\"web.search\"=250ms").isEqualTo(0.25);

        given().contentType(ContentType.JSON)
                .body("{\"model\":\"kvmesh-sim\",\"prompt\":\"x\",\"max_tokens\":3,\"kvmesh_tool_call\":5}")
                .post("/v1/completions").then().statusCode(400)
                .body("error.param", equalTo("kvmesh_tool_call"));
    }

    private static String metrics() {
        return given().get("/metrics").then().statusCode(200).extract().asString();
    }

    /** The sum of a metric's samples over its labels. */
    private static double metricSum(String name) {
        return metrics().lines().filter(line -> line.startsWith(name + "{"))
                .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1))).sum();
    }

    @Test
    void listsTheModelAndExportsVllmMetrics() {
        given().get("/v1/models").then().statusCode(200).body("data[0].id", equalTo("kvmesh-sim"));
        String metrics = given().get("/metrics").then().statusCode(200).extract().asString();
        assertThat(metrics).contains("vllm:num_requests_running{model_name=\"kvmesh-sim\"}")
                .contains("vllm:num_requests_waiting{")
                .contains("vllm:kv_cache_usage_perc{")
                .contains("vllm:prefix_cache_queries_total{")
                .contains("vllm:prefix_cache_hits_total{");
    }

    @Test
    void publishesTheBlocksItStoresAndItsStatusToKafka() {
        String prompt = "Kafka sees what the block pool did. ".repeat(4);
        given().contentType(ContentType.JSON).body(completion(prompt, 2, false)).post("/v1/completions").then().statusCode(200);
        long[] expected = new BlockHasher("kvmesh-sim", "", 16).hashFullBlocks(new ByteTokenizer().encode(prompt, true));

        String bootstrap = ConfigProvider.getConfig().getValue("kvmesh.kafka.bootstrap-servers", String.class);
        EventCodec codec = new EventCodec();
        List<Long> published = new ArrayList<>();
        List<PodStatus> statuses = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap),
                new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (String topic : List.of("kvmesh.default.local.kv-events", "kvmesh.default.local.pod-status")) {
                consumer.partitionsFor(topic).forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            while (System.nanoTime() < deadline && !(published.containsAll(boxed(expected)) && !statuses.isEmpty())) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    if (record.topic().endsWith("kv-events")) {
                        KvEventBatch batch = codec.decodeBatch(record.value());
                        for (KvEvent event : batch.events()) {
                            if (event instanceof BlockStored stored) {
                                published.addAll(boxed(stored.blockHashes()));
                            }
                        }
                    } else if (record.value() != null) {
                        statuses.add(codec.decodePodStatus(record.value()));
                    }
                }
            }
        }
        assertThat(published).containsAll(boxed(expected));
        assertThat(statuses).isNotEmpty();
        assertThat(statuses.getLast().modelId()).isEqualTo("kvmesh-sim");
        assertThat(statuses.getLast().deviceBlocks().total()).isEqualTo(4096);
    }

    private static List<Long> boxed(long[] values) {
        return java.util.Arrays.stream(values).boxed().toList();
    }

    private static void assertError(String body, String path, int status, String param) {
        given().contentType(ContentType.JSON).body(body).post(path).then().statusCode(status)
                .contentType(ContentType.JSON)
                .body("error.message", org.hamcrest.Matchers.notNullValue())
                .body("error.type", equalTo("invalid_request_error"))
                .body("error.param", equalTo(param));
    }
}
