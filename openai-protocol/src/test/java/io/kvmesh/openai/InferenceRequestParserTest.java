package io.kvmesh.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.kvmesh.model.chat.ChatMessage;
import io.kvmesh.model.chat.ChatTool;
import io.kvmesh.model.tokenizer.ByteTokenizer;

class InferenceRequestParserTest {

    private final InferenceRequestParser parser = new InferenceRequestParser();

    private InferenceRequest completion(String json) {
        return parser.parse(InferenceRequest.Kind.COMPLETION, json.getBytes(StandardCharsets.UTF_8));
    }

    private InferenceRequest chat(String json) {
        return parser.parse(InferenceRequest.Kind.CHAT, json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void readsACompletionWithDefaults() {
        InferenceRequest request = completion("{\"model\":\"m\",\"prompt\":\"Hello\",\"unknown\":1}");
        assertThat(request.prompt()).isEqualTo("Hello");
        assertThat(request.maxTokens()).isEqualTo(16);
        assertThat(request.stream()).isFalse();
        assertThat(PromptEncoder.tokens(request, PromptFormat.withFallbackChat(new ByteTokenizer(), "sim"))).containsExactly(1, 'H' + 3, 'e' + 3, 'l' + 3, 'l' + 3, 'o' + 3);
    }

    @Test
    void readsTokenPromptsChatAndStreamOptions() {
        assertThat(completion("{\"model\":\"m\",\"prompt\":[5,6,7]}").promptTokens()).containsExactly(5, 6, 7);
        InferenceRequest request = chat("""
                {"model":"m","messages":[{"role":"system","content":"Be brief."},
                 {"role":"user","content":[{"type":"text","text":"Hi "},{"type":"text","text":"there"}]}],
                 "max_completion_tokens":5,"stream":true,"stream_options":{"include_usage":true},"user":"u1"}""");
        assertThat(request.messages()).containsExactly(new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hi there"));
        assertThat(request.maxTokens()).isEqualTo(5);
        assertThat(request.stream()).isTrue();
        assertThat(request.includeUsage()).isTrue();
        assertThat(request.user()).isEqualTo("u1");
        InferenceRequest sampled = completion("{\"model\":\"m\",\"prompt\":\"x\",\"temperature\":0.7,\"top_p\":0.9,\"top_k\":40,\"seed\":3,\"stop\":[\"\\n\",\"END\"]}");
        assertThat(sampled.temperature()).isEqualTo(0.7);
        assertThat(sampled.topP()).isEqualTo(0.9);
        assertThat(sampled.topK()).isEqualTo(40);
        assertThat(sampled.seed()).isEqualTo(3L);
        assertThat(sampled.stop()).containsExactly("\n", "END");
    }

    @Test
    void badInputIsA400NamingTheParameter() {
        assertRefused(() -> completion(""), null, "empty");
        assertRefused(() -> completion("{\"model\":"), null, "not valid JSON");
        assertRefused(() -> completion("[]"), null, "JSON object");
        assertRefused(() -> completion("{\"prompt\":\"x\"}"), "model", "'model' is a required property");
        assertRefused(() -> completion("{\"model\":7,\"prompt\":\"x\"}"), "model", "must be a string");
        assertRefused(() -> completion("{\"model\":\"m\"}"), "prompt", "'prompt' is a required property");
        assertRefused(() -> completion("{\"model\":\"m\",\"prompt\":{}}"), "prompt", "must be a string");
        assertRefused(() -> completion("{\"model\":\"m\",\"prompt\":[-1]}"), "prompt", "non-negative");
        assertRefused(() -> completion("{\"model\":\"m\",\"prompt\":\"x\",\"max_tokens\":0}"), "max_tokens", "between 1 and");
        assertRefused(() -> completion("{\"model\":\"m\",\"prompt\":\"x\",\"max_tokens\":-5}"), "max_tokens", "between 1 and");
        assertRefused(() -> completion("{\"model\":\"m\",\"prompt\":\"x\",\"max_tokens\":\"9\"}"), "max_tokens", "must be an integer");
        assertRefused(() -> completion("{\"model\":\"m\",\"prompt\":\"x\",\"max_tokens\":99999999999}"), "max_tokens", "between 1 and");
        assertRefused(() -> completion("{\"model\":\"m\",\"prompt\":\"x\",\"stream\":\"yes\"}"), "stream", "boolean");
        assertRefused(() -> completion("{\"model\":\"m\",\"prompt\":\"x\",\"n\":2}"), "n", "n = 1");
        assertRefused(() -> completion("{\"model\":\"m\",\"prompt\":\"x\",\"temperature\":3}"), "temperature", "between");
        assertRefused(() -> completion("{\"model\":\"m\",\"prompt\":\"x\",\"top_p\":0}"), "top_p", "between");
        assertRefused(() -> completion("{\"model\":\"m\",\"prompt\":\"x\",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}"), "stop", "up to 4");
        assertRefused(() -> completion("{\"model\":\"m\",\"prompt\":\"x\",\"stop\":\"\"}"), "stop", "must not be empty");
        assertRefused(() -> chat("{\"model\":\"m\"}"), "messages", "'messages' is a required property");
        assertRefused(() -> chat("{\"model\":\"m\",\"messages\":[]}"), "messages", "non-empty");
        assertRefused(() -> chat("{\"model\":\"m\",\"messages\":[{\"role\":\"king\",\"content\":\"x\"}]}"), "messages[0].role", "must be one of");
        assertRefused(() -> chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":5}]}"), "messages[0].content", "string");
    }

    private static final String WEATHER = """
            {"type":"function","function":{"name":"get_weather","description":"Weather in a city",
             "parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","maximum":7}},
             "required":["city"]},"strict":true}}""";
    private static final String USER = "{\"role\":\"user\",\"content\":\"Weather in Paris?\"}";

    private InferenceRequest chatWith(String fields) {
        return chat("{\"model\":\"m\",\"messages\":[" + USER + "]," + fields + "}");
    }

    @Test
    void readsToolsWholeInTheClientsKeyOrderAndDefaultsToolChoiceToAuto() {
        InferenceRequest request = chatWith("\"tools\":[" + WEATHER + ",{\"type\":\"function\",\"function\":{\"name\":\"web.search\"}}]");
        assertThat(request.tools()).extracting(ChatTool::name).containsExactly("get_weather", "web.search");
        Map<String, Object> definition = request.tools().getFirst().definition();
        assertThat(definition.keySet()).containsExactly("type", "function");
        @SuppressWarnings("unchecked")
        Map<String, Object> function = (Map<String, Object>) definition.get("function");
        // Every field the client sent (strict too), integers as Long, for the template's tojson.
        assertThat(function.keySet()).containsExactly("name", "description", "parameters", "strict");
        assertThat(function.get("parameters")).isEqualTo(Map.of("type", "object",
                "properties", Map.of("city", Map.of("type", "string"), "days", Map.of("type", "integer", "maximum", 7L)),
                "required", List.of("city")));
        assertThat(request.tools().get(1).definition()).isEqualTo(Map.of("type", "function", "function", Map.of("name", "web.search")));
        assertThat(request.toolChoice()).isEqualTo(InferenceRequest.ToolChoice.AUTO);
        assertThat(request.recognisesToolCalls()).isTrue();

        InferenceRequest none = chatWith("\"tools\":[" + WEATHER + "],\"tool_choice\":\"none\"");
        assertThat(none.tools()).hasSize(1);
        assertThat(none.recognisesToolCalls()).isFalse();
        assertThat(chatWith("\"tools\":[" + WEATHER + "],\"tool_choice\":\"auto\"").recognisesToolCalls()).isTrue();
        InferenceRequest plain = chatWith("\"tool_choice\":\"none\"");
        assertThat(plain.tools()).isEmpty();
        assertThat(plain.toolChoice()).isEqualTo(InferenceRequest.ToolChoice.NONE);
        assertThat(chat("{\"model\":\"m\",\"messages\":[" + USER + "]}").recognisesToolCalls()).isFalse();
        // Completions have no tools (as in vLLM): the field is ignored like any unknown one.
        InferenceRequest completion = completion("{\"model\":\"m\",\"prompt\":\"x\",\"tools\":7,\"tool_choice\":\"required\"}");
        assertThat(completion.tools()).isEmpty();
        assertThat(completion.recognisesToolCalls()).isFalse();
    }

    @Test
    void readsToolCallsAndToolResultsInTheHistory() {
        InferenceRequest request = chat("""
                {"model":"m","tools":[%s],"messages":[{"role":"user","content":"Weather in Paris?"},
                 {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
                  "function":{"name":"get_weather","arguments":"{\\"city\\": \\"Paris\\", \\"days\\": 2.5}"}},
                  {"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"not json"}}]},
                 {"role":"tool","tool_call_id":"call_1","content":"22 C"},
                 {"role":"tool","tool_call_id":"call_2","name":"get_weather","content":[{"type":"text","text":"rain"}]}]}"""
                .formatted(WEATHER));
        ChatMessage assistant = request.messages().get(1);
        assertThat(assistant.content()).isEmpty();
        assertThat(assistant.toolCalls()).containsExactly(
                new ChatMessage.ToolCall("call_1", "get_weather", Map.of("city", "Paris", "days", 2.5)),
                new ChatMessage.ToolCall("call_2", "get_weather", "not json"));
        assertThat(request.messages().get(2)).isEqualTo(new ChatMessage("tool", "22 C", List.of(), "call_1", null));
        assertThat(request.messages().get(3)).isEqualTo(new ChatMessage("tool", "rain", List.of(), "call_2", "get_weather"));
        // A tool message without tool_call_id is still served, as before tools existed.
        assertThat(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}").messages().getFirst().toolCallId()).isNull();
    }

    @Test
    void badToolsToolChoiceAndToolCallsAreA400NamingTheParameter() {
        assertRefused(() -> chatWith("\"tools\":{}"), "tools", "non-empty array");
        assertRefused(() -> chatWith("\"tools\":[]"), "tools", "non-empty array");
        assertRefused(() -> chatWith("\"tools\":[7]"), "tools[0]", "must be an object");
        assertRefused(() -> chatWith("\"tools\":[" + WEATHER + ",{\"type\":\"retrieval\",\"function\":{\"name\":\"x\"}}]"),
                "tools[1].type", "\"function\"");
        assertRefused(() -> chatWith("\"tools\":[{\"type\":\"function\"}]"), "tools[0].function", "must be an object");
        assertRefused(() -> chatWith("\"tools\":[" + WEATHER + ",{\"type\":\"function\",\"function\":{\"description\":\"x\"}}]"),
                "tools[1].function.name", "required");
        assertRefused(() -> chatWith("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":5}}]"), "tools[0].function.name", "string");
        assertRefused(() -> chatWith("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\" \"}}]"), "tools[0].function.name", "not all blank");
        assertRefused(() -> chatWith("\"tools\":[" + WEATHER + "," + WEATHER + "]"), "tools[1].function.name", "unique");
        assertRefused(() -> chatWith("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"description\":1}}]"),
                "tools[0].function.description", "string");
        assertRefused(() -> chatWith("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":[]}}]"),
                "tools[0].function.parameters", "object");

        assertRefused(() -> chatWith("\"tools\":[" + WEATHER + "],\"tool_choice\":\"required\""), "tool_choice", "not supported");
        assertRefused(() -> chatWith("\"tools\":[" + WEATHER + "],\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}"),
                "tool_choice", "not supported");
        assertRefused(() -> chatWith("\"tools\":[" + WEATHER + "],\"tool_choice\":\"sometimes\""), "tool_choice", "must be");
        assertRefused(() -> chatWith("\"tool_choice\":\"auto\""), "tool_choice", "only allowed when 'tools'");

        String call = "{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}";
        assertRefused(() -> history("{\"role\":\"user\",\"content\":\"x\",\"tool_calls\":[" + call + "]}"),
                "messages[1].tool_calls", "only allowed on assistant");
        assertRefused(() -> history("{\"role\":\"assistant\",\"tool_calls\":{}}"), "messages[1].tool_calls", "array");
        assertRefused(() -> history("{\"role\":\"assistant\",\"tool_calls\":[" + call + ",5]}"), "messages[1].tool_calls[1]", "object");
        assertRefused(() -> history("{\"role\":\"assistant\",\"tool_calls\":[" + call.replace("\"id\":\"c1\",", "") + "]}"),
                "messages[1].tool_calls[0].id", "required");
        assertRefused(() -> history("{\"role\":\"assistant\",\"tool_calls\":[" + call.replace("\"function\",", "\"tool\",") + "]}"),
                "messages[1].tool_calls[0].type", "\"function\"");
        assertRefused(() -> history("{\"role\":\"assistant\",\"tool_calls\":[" + call.replace("\"name\":\"f\"", "\"name\":[]") + "]}"),
                "messages[1].tool_calls[0].function.name", "string");
        assertRefused(() -> history("{\"role\":\"assistant\",\"tool_calls\":[" + call.replace("\"{}\"", "{}") + "]}"),
                "messages[1].tool_calls[0].function.arguments", "must be a string");
        assertRefused(() -> history("{\"role\":\"assistant\",\"tool_calls\":[" + call.replace(",\"arguments\":\"{}\"", "") + "]}"),
                "messages[1].tool_calls[0].function.arguments", "required");
        assertRefused(() -> history("{\"role\":\"tool\",\"tool_call_id\":3,\"content\":\"x\"}"), "messages[1].tool_call_id", "string");
        assertRefused(() -> history("{\"role\":\"user\",\"name\":false,\"content\":\"x\"}"), "messages[1].name", "string");
    }

    private InferenceRequest history(String message) {
        return chat("{\"model\":\"m\",\"messages\":[" + USER + "," + message + "]}");
    }

    private static void assertRefused(Runnable call, String param, String message) {
        assertThatThrownBy(call::run)
                .isInstanceOfSatisfying(OpenAiException.class, e -> {
                    assertThat(e.error().status()).isEqualTo(400);
                    assertThat(e.error().type()).isEqualTo("invalid_request_error");
                    assertThat(e.error().param()).isEqualTo(param);
                    assertThat(e.error().toJson()).startsWith("{\"error\":{\"message\":");
                })
                .hasMessageContaining(message);
    }
}
