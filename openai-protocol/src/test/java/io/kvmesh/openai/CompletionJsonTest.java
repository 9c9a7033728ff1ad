package io.kvmesh.openai;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

class CompletionJsonTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ToolCall CALL = new ToolCall("call_abc", "get_weather", "{\"city\": \"Paris\"}");

    @Test
    void aChatAnswerThatCallsToolsHasToolCallsAndNullContent() throws Exception {
        JsonNode body = JSON.readTree(CompletionJson.response(InferenceRequest.Kind.CHAT, "chatcmpl-1", 7, "m",
                "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}", List.of(CALL), "tool_calls",
                new Usage(10, 5, 0)));
        JsonNode message = body.at("/choices/0/message");
        assertThat(message.get("role").asText()).isEqualTo("assistant");
        assertThat(message.get("content").isNull()).isTrue();
        assertThat(message.get("tool_calls")).hasSize(1);
        assertThat(message.at("/tool_calls/0/id").asText()).isEqualTo("call_abc");
        assertThat(message.at("/tool_calls/0/type").asText()).isEqualTo("function");
        assertThat(message.at("/tool_calls/0/function/name").asText()).isEqualTo("get_weather");
        assertThat(message.at("/tool_calls/0/function/arguments").asText()).isEqualTo("{\"city\": \"Paris\"}");
        assertThat(body.at("/choices/0/finish_reason").asText()).isEqualTo("tool_calls");

        JsonNode text = JSON.readTree(CompletionJson.response(InferenceRequest.Kind.CHAT, "chatcmpl-2", 7, "m", "Hi",
                "stop", new Usage(1, 1, 0)));
        assertThat(text.at("/choices/0/message/content").asText()).isEqualTo("Hi");
        assertThat(text.at("/choices/0/message").has("tool_calls")).isFalse();
    }

    @Test
    void aStreamedCallIsOneDeltaWithItsIndexIdNameAndArguments() throws Exception {
        JsonNode first = JSON.readTree(CompletionJson.toolCallChunk("chatcmpl-1", 7, "m", 0, CALL, true));
        assertThat(first.get("object").asText()).isEqualTo("chat.completion.chunk");
        assertThat(first.at("/choices/0/delta/role").asText()).isEqualTo("assistant");
        assertThat(first.at("/choices/0/delta/tool_calls/0/index").asInt()).isZero();
        assertThat(first.at("/choices/0/delta/tool_calls/0/id").asText()).isEqualTo("call_abc");
        assertThat(first.at("/choices/0/delta/tool_calls/0/type").asText()).isEqualTo("function");
        assertThat(first.at("/choices/0/delta/tool_calls/0/function/name").asText()).isEqualTo("get_weather");
        assertThat(first.at("/choices/0/delta/tool_calls/0/function/arguments").asText()).isEqualTo("{\"city\": \"Paris\"}");
        assertThat(first.at("/choices/0/finish_reason").isNull()).isTrue();
        JsonNode second = JSON.readTree(CompletionJson.toolCallChunk("chatcmpl-1", 7, "m", 1, CALL, false));
        assertThat(second.at("/choices/0/delta").has("role")).isFalse();
        assertThat(second.at("/choices/0/delta/tool_calls/0/index").asInt()).isEqualTo(1);
    }
}
