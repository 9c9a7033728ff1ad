package io.kvmesh.model.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class FallbackChatTemplateTest {

    private final FallbackChatTemplate fallback = new FallbackChatTemplate("the model has no tokenizer.chat_template");

    @Test
    void rendersRolesAndPromptsTheAssistant() {
        assertThat(fallback.render(List.of(new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hi")), true))
                .isEqualTo("<|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\n");
        assertThat(fallback.render(List.of(new ChatMessage("user", "Hi")), false)).isEqualTo("<|user|>\nHi\n");
    }

    @Test
    void aLaterTurnExtendsTheEarlierPromptUpToTheAssistantTag() {
        String first = fallback.render(List.of(new ChatMessage("user", "Hi")), true);
        String second = fallback.render(List.of(new ChatMessage("user", "Hi"),
                new ChatMessage("assistant", "Hello"), new ChatMessage("user", "More")), true);
        assertThat(second).startsWith(first);
    }

    @Test
    void keepsSpecialTokensAsPlainTextAndSaysWhyItIsUsed() {
        assertThat(fallback.parsesSpecialTokens()).isFalse();
        assertThat(fallback.description()).startsWith("fallback chat format").endsWith("the model has no tokenizer.chat_template");
    }

    private static final ChatTool WEATHER = new ChatTool("get_weather", weatherDefinition());

    /** In the client's key order, which the tools line keeps. */
    private static Map<String, Object> weatherDefinition() {
        Map<String, Object> definition = new LinkedHashMap<>();
        definition.put("type", "function");
        definition.put("function", Map.of("name", "get_weather"));
        return definition;
    }

    @Test
    void rendersToolsFirstAndToolCallsInTheJsonFormTheApiRecognises() {
        Map<String, Object> arguments = new LinkedHashMap<>();
        arguments.put("city", "Paris");
        arguments.put("days", 2L);
        List<ChatMessage> chat = List.of(new ChatMessage("user", "Weather?"),
                new ChatMessage("assistant", "", List.of(new ChatMessage.ToolCall("call_1", "get_weather", arguments)), null, null),
                new ChatMessage("tool", "22 C", List.of(), "call_1", null),
                new ChatMessage("assistant", "Checking twice.", List.of(new ChatMessage.ToolCall("call_2", "get_weather", Map.of()),
                        new ChatMessage.ToolCall("call_3", "get_weather", "not json")), null, null));
        assertThat(fallback.render(chat, List.of(WEATHER), true)).isEqualTo("""
                <|tools|>
                {"type": "function", "function": {"name": "get_weather"}}
                <|user|>
                Weather?
                <|assistant|>
                {"name": "get_weather", "parameters": {"city": "Paris", "days": 2}}
                <|tool|>
                22 C
                <|assistant|>
                Checking twice.
                {"name": "get_weather", "parameters": {}}; {"name": "get_weather", "parameters": "not json"}
                <|assistant|>
                """);
        // Without tools the format is what it always was.
        assertThat(fallback.render(List.of(new ChatMessage("user", "Hi")), List.of(), true))
                .isEqualTo(fallback.render(List.of(new ChatMessage("user", "Hi")), true)).isEqualTo("<|user|>\nHi\n<|assistant|>\n");
        // The next turn (the call and its result added) extends the prompt the call was generated from.
        assertThat(fallback.render(chat.subList(0, 3), List.of(WEATHER), true))
                .startsWith(fallback.render(chat.subList(0, 1), List.of(WEATHER), true)
                        + "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\", \"days\": 2}}\n");
    }
}
