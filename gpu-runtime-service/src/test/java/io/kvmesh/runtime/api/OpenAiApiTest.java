package io.kvmesh.runtime.api;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasLength;
import static org.hamcrest.Matchers.startsWith;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

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
import io.kvmesh.prefix.events.BlocksQueued;
import io.kvmesh.prefix.events.EventCodec;
import io.kvmesh.prefix.events.KvEvent;
import io.kvmesh.prefix.events.KvEventBatch;
import io.kvmesh.prefix.events.PodStatus;
import io.kvmesh.model.tokenizer.ByteTokenizer;
import io.kvmesh.openai.InferenceRequest;
import io.kvmesh.openai.InferenceRequestParser;
import io.kvmesh.runtime.engine.FinishReason;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServerResponse;

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
        assertThat(metrics()).contains("kvmesh_lamps_pinned_blocks{");
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

    private static final String TOOLS = "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
            + "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}]";

    private static String toolChat(String messages, String more) {
        return "{\"model\":\"kvmesh-sim\",\"messages\":" + messages + ",\"tools\":" + TOOLS + more + "}";
    }

    /**
     * A chat with tools whose answer is not a call (the sim backend writes letters and spaces, never JSON) is plain
     * text ending as usual, streamed or not; the tools are in the prompt (the fallback format's tools line).
     */
    @Test
    void aChatWithToolsWhoseAnswerIsNotACallEndsNormally() {
        String messages = "[{\"role\":\"user\",\"content\":\"What is the weather in Paris?\"}]";
        String content = given().contentType(ContentType.JSON).body(toolChat(messages, ",\"max_tokens\":8"))
                .post("/v1/chat/completions").then().statusCode(200)
                .body("choices[0].finish_reason", equalTo("length"))
                .body("choices[0].message.content", hasLength(8))
                .body("choices[0].message.tool_calls", org.hamcrest.Matchers.nullValue())
                .extract().path("choices[0].message.content");
        int withTools = given().contentType(ContentType.JSON).body(toolChat(messages, ",\"max_tokens\":1"))
                .post("/v1/chat/completions").then().statusCode(200).extract().path("usage.prompt_tokens");
        int without = given().contentType(ContentType.JSON)
                .body("{\"model\":\"kvmesh-sim\",\"messages\":" + messages + ",\"max_tokens\":1}")
                .post("/v1/chat/completions").then().statusCode(200).extract().path("usage.prompt_tokens");
        String toolsLine = "<|tools|>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": "
                + "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}}}}\n";
        assertThat(withTools - without).as("one byte token per character of the tools line").isEqualTo(toolsLine.length());

        String events = given().contentType(ContentType.JSON)
                .body(toolChat(messages, ",\"max_tokens\":8,\"stream\":true,\"tool_choice\":\"auto\""))
                .post("/v1/chat/completions").then().statusCode(200).extract().asString();
        StringBuilder streamed = new StringBuilder();
        for (String line : events.lines().filter(l -> l.startsWith("data: {")).toList()) {
            String delta = JsonPath.from(line.substring(6)).get("choices[0].delta.content");
            streamed.append(delta == null ? "" : delta);
        }
        assertThat(streamed.toString()).isEqualTo(content);
        assertThat(events).doesNotContain("tool_calls").contains("\"finish_reason\":\"length\"").endsWith("data: [DONE]\n\n");
    }

    /** A conversation carrying an assistant's tool call and the tool's result is served. */
    @Test
    void toolCallsAndToolResultsInTheHistoryAreAccepted() {
        String messages = "[{\"role\":\"user\",\"content\":\"What is the weather in Paris?\"},"
                + "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_abc\",\"type\":\"function\","
                + "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},"
                + "{\"role\":\"tool\",\"tool_call_id\":\"call_abc\",\"content\":\"22 C and sunny\"}]";
        given().contentType(ContentType.JSON).body(toolChat(messages, ",\"max_tokens\":4"))
                .post("/v1/chat/completions").then().statusCode(200)
                .body("choices[0].finish_reason", equalTo("length"))
                .body("choices[0].message.content", hasLength(4));
        // tool_choice "none" keeps the tools in the prompt and reads no calls.
        given().contentType(ContentType.JSON).body(toolChat(messages, ",\"max_tokens\":2,\"tool_choice\":\"none\""))
                .post("/v1/chat/completions").then().statusCode(200)
                .body("choices[0].finish_reason", equalTo("length"));
    }

    /** What an {@link OpenAiRoutes.Output} writes into its response. */
    private static final class RecordedResponse implements InvocationHandler {
        final StringBuilder body = new StringBuilder();
        boolean ended;
        final HttpServerResponse response = (HttpServerResponse) Proxy
                .newProxyInstance(getClass().getClassLoader(), new Class<?>[] {HttpServerResponse.class}, this);

        @Override
        public Object invoke(Object proxy, Method method, Object[] args) {
            switch (method.getName()) {
                case "write", "end" -> {
                    if (args != null && args.length == 1 && args[0] instanceof String text) {
                        body.append(text);
                    }
                    ended |= method.getName().equals("end");
                    return Future.succeededFuture();
                }
                case "closed" -> {
                    return false;
                }
                default -> {
                    return method.getReturnType().isInstance(proxy) ? proxy : null;
                }
            }
        }

        /** The JSON of each server-sent event but [DONE]. */
        List<JsonPath> events() {
            return body.toString().lines().filter(l -> l.startsWith("data: {"))
                    .map(l -> JsonPath.from(l.substring(6))).toList();
        }
    }

    private OpenAiRoutes.Output output(RecordedResponse recorded, boolean stream) {
        InferenceRequest request = new InferenceRequestParser().parse(
                InferenceRequest.Kind.CHAT, toolChat("[{\"role\":\"user\",\"content\":\"Weather?\"}]",
                        ",\"stream\":" + stream).getBytes(StandardCharsets.UTF_8));
        OpenAiRoutes.Output output = new OpenAiRoutes.Output(recorded.response, request, "chatcmpl-test", pod, 10);
        output.begin();
        return output;
    }

    /** Feeds {@code text} as the sim's byte tokens; returns the tool the engine would pause on. */
    private static String generate(OpenAiRoutes.Output output, String text) {
        for (int token : new ByteTokenizer().encode(text, false)) {
            output.onToken(token);
        }
        return output.calledTool();
    }

    /**
     * The API side of a call the model writes (the sim backend cannot write one): the engine learns the tool from
     * {@code calledTool()} (so the session pauses), and the answer is {@code tool_calls} with content null.
     */
    @Test
    void anAnswerThatIsACallBecomesToolCallsAndNamesTheToolToPauseOn() {
        RecordedResponse whole = new RecordedResponse();
        OpenAiRoutes.Output output = output(whole, false);
        assertThat(generate(output, " {\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}")).isEqualTo("get_weather");
        output.onFinish(FinishReason.TOOL_CALLS, 10, 52, 0);
        JsonPath body = JsonPath.from(whole.body.toString());
        assertThat(whole.ended).isTrue();
        assertThat(body.getString("choices[0].finish_reason")).isEqualTo("tool_calls");
        assertThat(body.getString("choices[0].message.content")).isNull();
        assertThat(body.getString("choices[0].message.tool_calls[0].id")).startsWith("call_");
        assertThat(body.getString("choices[0].message.tool_calls[0].type")).isEqualTo("function");
        assertThat(body.getString("choices[0].message.tool_calls[0].function.name")).isEqualTo("get_weather");
        assertThat(body.getString("choices[0].message.tool_calls[0].function.arguments")).isEqualTo("{\"city\": \"Paris\"}");

        RecordedResponse streamed = new RecordedResponse();
        OpenAiRoutes.Output streaming = output(streamed, true);
        String call = "<|python_tag|>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}";
        for (int token : new ByteTokenizer().encode(call, false)) {
            streaming.onToken(token);
            assertThat(streamed.events()).as("nothing is streamed while the answer may be a call").isEmpty();
        }
        assertThat(streaming.calledTool()).isEqualTo("get_weather");
        streaming.onFinish(FinishReason.TOOL_CALLS, 10, call.length(), 0);
        List<JsonPath> events = streamed.events();
        assertThat(events).hasSize(2);
        assertThat(events.get(0).getString("choices[0].delta.role")).isEqualTo("assistant");
        assertThat(events.get(0).getInt("choices[0].delta.tool_calls[0].index")).isZero();
        assertThat(events.get(0).getString("choices[0].delta.tool_calls[0].id")).startsWith("call_");
        assertThat(events.get(0).getString("choices[0].delta.tool_calls[0].function.name")).isEqualTo("get_weather");
        assertThat(events.get(0).getString("choices[0].delta.tool_calls[0].function.arguments")).isEqualTo("{\"city\": \"Oslo\"}");
        assertThat(events.get(1).getString("choices[0].finish_reason")).isEqualTo("tool_calls");
        assertThat(streamed.body.toString()).endsWith("data: [DONE]\n\n");
    }

    /** Text streams as it comes; an answer that only looked like a call is sent whole at the end, as text. */
    @Test
    void anAnswerThatIsNotACallIsText() {
        RecordedResponse text = new RecordedResponse();
        OpenAiRoutes.Output plain = output(text, true);
        plain.onToken(new ByteTokenizer().encode(" ", false)[0]);
        assertThat(text.events()).as("leading whitespace waits").isEmpty();
        assertThat(generate(plain, "Sunny")).isNull();
        assertThat(text.events()).isNotEmpty();
        plain.onFinish(FinishReason.LENGTH, 10, 6, 0);
        assertThat(text.events().stream().map(e -> e.getString("choices[0].delta.content")).filter(Objects::nonNull)
                .reduce("", String::concat)).isEqualTo(" Sunny");
        assertThat(text.body.toString()).doesNotContain("tool_calls").contains("\"finish_reason\":\"length\"");

        for (String answer : List.of("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Par",
                "{\"name\": \"launch_rockets\", \"parameters\": {}}")) {
            RecordedResponse held = new RecordedResponse();
            OpenAiRoutes.Output output = output(held, true);
            assertThat(generate(output, answer)).isNull();
            assertThat(held.events()).isEmpty();
            output.onFinish(FinishReason.LENGTH, 10, answer.length(), 0);
            assertThat(held.events().getFirst().getString("choices[0].delta.content")).isEqualTo(answer);
            assertThat(held.events().getLast().getString("choices[0].finish_reason")).isEqualTo("length");
            assertThat(held.body.toString()).doesNotContain("tool_calls");
        }
    }

    @Test
    void badToolsAndToolChoicesAreOpenAiErrors() {
        String user = "[{\"role\":\"user\",\"content\":\"Hi\"}]";
        String tool = "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}";
        assertError(toolChat(user, "").replace(TOOLS, "{}"), "/v1/chat/completions", 400, "tools");
        assertError(toolChat(user, "").replace(TOOLS, "[" + tool + "," + tool + "]"), "/v1/chat/completions", 400,
                "tools[1].function.name");
        assertError(toolChat(user, "").replace(TOOLS, "[{\"type\":\"function\",\"function\":{}}]"), "/v1/chat/completions",
                400, "tools[0].function.name");
        assertError(toolChat(user, ",\"tool_choice\":\"required\""), "/v1/chat/completions", 400, "tool_choice");
        assertError(toolChat(user, ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}"),
                "/v1/chat/completions", 400, "tool_choice");
        assertError(toolChat("[{\"role\":\"assistant\",\"tool_calls\":[{\"type\":\"function\"}]}]", ""),
                "/v1/chat/completions", 400, "messages[0].tool_calls[0].id");
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
        // The pod's event stream in order: 'Q' for the request's blocks announced queued, 'S' for them stored.
        StringBuilder order = new StringBuilder();
        List<Long> announced = new ArrayList<>();
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
                                if (boxed(stored.blockHashes()).contains(expected[0])) {
                                    order.append('S');
                                }
                            } else if (event instanceof BlocksQueued queued && queued.blockHashes()[0] == expected[0]) {
                                announced.addAll(boxed(queued.blockHashes()));
                                order.append('Q');
                            }
                        }
                    } else if (record.value() != null) {
                        statuses.add(codec.decodePodStatus(record.value()));
                    }
                }
            }
        }
        assertThat(published).containsAll(boxed(expected));
        // Announced as it arrived, before it was computed, under the hashes it is stored by (its reusable full blocks:
        // all but a last block that ends the prompt).
        assertThat(order.toString()).startsWith("QS");
        assertThat(announced).isEqualTo(boxed(java.util.Arrays.copyOf(expected, (new ByteTokenizer().encode(prompt, true).length - 1) / 16)));
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
