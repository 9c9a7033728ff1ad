package io.kvmesh.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.kvmesh.model.chat.ChatTemplates;
import io.kvmesh.model.chat.FallbackChatTemplate;
import io.kvmesh.model.chat.JinjaChatTemplate;
import io.kvmesh.model.tokenizer.ByteLevelBpeTokenizer;
import io.kvmesh.model.tokenizer.ByteTokenizer;
import io.kvmesh.model.tokenizer.TiktokenVocabulary;
import io.kvmesh.model.tokenizer.Tokenizer;

class PromptEncoderTest {

    private static final InferenceRequestParser PARSER = new InferenceRequestParser();
    private static TiktokenVocabulary vocabulary;
    private static Tokenizer tokenizer;

    @BeforeAll
    static void vocabulary() {
        vocabulary = TiktokenVocabulary.cl100k(100_256 + 256);
        tokenizer = new ByteLevelBpeTokenizer(vocabulary.tokens(), vocabulary.types(), vocabulary.merges(),
                ByteLevelBpeTokenizer.LLAMA3_PATTERN, vocabulary.bosId(), vocabulary.eosId(), true);
    }

    private static InferenceRequest request(InferenceRequest.Kind kind, String json) {
        return PARSER.parse(kind, json.getBytes(StandardCharsets.UTF_8));
    }

    private static final String CHAT = """
            {"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi <|eot_id|>"}]}""";

    @Test
    void aChatIsRenderedByTheModelsTemplateAndItsControlTokensBecomeIds() {
        PromptFormat llama3 = new PromptFormat(tokenizer,
                new JinjaChatTemplate(ChatTemplates.LLAMA3, "<|begin_of_text|>", "<|end_of_text|>"));
        int[] ids = PromptEncoder.tokens(request(InferenceRequest.Kind.CHAT, CHAT), llama3);
        assertThat(ids[0]).isEqualTo(vocabulary.bosId());
        assertThat(Arrays.stream(ids).filter(id -> id == vocabulary.bosId()).count()).as("one BOS").isEqualTo(1);
        assertThat(Arrays.stream(ids).filter(id -> id == vocabulary.startHeaderId()).count()).isEqualTo(3);
        assertThat(ids[ids.length - 2]).isEqualTo(vocabulary.endHeaderId());
        assertThat(tokenizer.decode(ids)).isEqualTo("system\n\nBe brief.user\n\nHi assistant\n\n");
    }

    @Test
    void aCompletionPromptKeepsSpecialTokensAsText() {
        PromptFormat llama3 = new PromptFormat(tokenizer,
                new JinjaChatTemplate(ChatTemplates.LLAMA3, "<|begin_of_text|>", "<|end_of_text|>"));
        int[] ids = PromptEncoder.tokens(request(InferenceRequest.Kind.COMPLETION,
                "{\"model\":\"m\",\"prompt\":\"<|begin_of_text|>Hi<|eot_id|>\"}"), llama3);
        assertThat(ids).startsWith(vocabulary.bosId()).doesNotContain(vocabulary.eotId());
        assertThat(Arrays.stream(ids).filter(id -> id == vocabulary.bosId()).count()).isEqualTo(1);
        assertThat(tokenizer.decode(ids)).isEqualTo("<|begin_of_text|>Hi<|eot_id|>");
        assertThat(PromptEncoder.tokens(request(InferenceRequest.Kind.COMPLETION, "{\"model\":\"m\",\"prompt\":[9,8]}"), llama3))
                .containsExactly(9, 8);
    }

    @Test
    void theFallbackFormatIsTokenizedAsBeforeWithoutSpecialParsing() {
        PromptFormat fallback = PromptFormat.withFallbackChat(new ByteTokenizer(), "sim backend");
        assertThat(fallback.chatTemplate()).isInstanceOf(FallbackChatTemplate.class);
        int[] ids = PromptEncoder.tokens(request(InferenceRequest.Kind.CHAT, CHAT), fallback);
        assertThat(ids).isEqualTo(new ByteTokenizer().encode("<|system|>\nBe brief.\n<|user|>\nHi <|eot_id|>\n<|assistant|>\n", true));
        PromptFormat bpeFallback = new PromptFormat(tokenizer, new FallbackChatTemplate("no template"));
        assertThat(PromptEncoder.tokens(request(InferenceRequest.Kind.CHAT, CHAT), bpeFallback)).doesNotContain(vocabulary.eotId());
    }

    @Test
    void aTemplateRefusingTheConversationIsA400NamingItsMessage() {
        String llama2 = "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
                + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
                + "{{ '[INST] ' + message['content'] }}{% endfor %}";
        PromptFormat format = new PromptFormat(tokenizer, new JinjaChatTemplate(llama2, "<s>", "</s>"));
        assertThatThrownBy(() -> PromptEncoder.tokens(request(InferenceRequest.Kind.CHAT,
                "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":\"b\"}]}"), format))
                .isInstanceOfSatisfying(OpenAiException.class, e -> {
                    assertThat(e.error().status()).isEqualTo(400);
                    assertThat(e.error().type()).isEqualTo("invalid_request_error");
                    assertThat(e.error().param()).isEqualTo("messages");
                    assertThat(e.error().message()).isEqualTo("Conversation roles must alternate user/assistant/user/assistant/...");
                    assertThat(e.error().toJson()).contains("\"message\":\"Conversation roles must alternate");
                });
        assertThat(PromptEncoder.tokens(request(InferenceRequest.Kind.CHAT,
                "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}"), format)).isNotEmpty();
    }

    @Test
    void toolsAndToolCallHistoryAreRenderedTheSameForEveryParseOfTheRequest() {
        String body = """
                {"model":"m","tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object",
                 "properties":{"city":{"type":"string"},"unit":{"enum":["C","F"]}}}}}],%s
                 "messages":[{"role":"user","content":"Weather in Paris?"},
                 {"role":"assistant","tool_calls":[{"id":"call_1","type":"function",
                  "function":{"name":"get_weather","arguments":"{\\"unit\\":\\"C\\",\\"city\\":\\"Paris\\"}"}}]},
                 {"role":"tool","tool_call_id":"call_1","content":"22"}]}""";
        PromptFormat fallback = PromptFormat.withFallbackChat(new ByteTokenizer(), "sim backend");
        int[] ids = PromptEncoder.tokens(request(InferenceRequest.Kind.CHAT, body.formatted("")), fallback);
        assertThat(new ByteTokenizer().decode(ids)).isEqualTo("""
                <|tools|>
                {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", \
                "properties": {"city": {"type": "string"}, "unit": {"enum": ["C", "F"]}}}}}
                <|user|>
                Weather in Paris?
                <|assistant|>
                {"name": "get_weather", "parameters": {"unit": "C", "city": "Paris"}}
                <|tool|>
                22
                <|assistant|>
                """);
        // The router parses and encodes the request itself: the same body gives the same ids, every time.
        assertThat(PromptEncoder.tokens(request(InferenceRequest.Kind.CHAT, body.formatted("")), fallback)).isEqualTo(ids);
        // tool_choice "none" still shows the model its tools (vLLM's default); it only stops reading calls.
        assertThat(PromptEncoder.tokens(request(InferenceRequest.Kind.CHAT, body.formatted("\"tool_choice\":\"none\",")), fallback))
                .isEqualTo(ids);
        PromptFormat llama3 = new PromptFormat(tokenizer, new JinjaChatTemplate(LLAMA31_TOOLS, "<|begin_of_text|>", "<|eot_id|>"));
        String rendered = tokenizer.decode(PromptEncoder.tokens(request(InferenceRequest.Kind.CHAT, body.formatted("")), llama3));
        assertThat(rendered).contains("\"name\": \"get_weather\"")
                .contains("{\"name\": \"get_weather\", \"parameters\": {\"unit\": \"C\", \"city\": \"Paris\"}}")
                .contains("ipython\n\n22");
    }

    /** The tool parts of Llama 3.1's template, shortened. */
    private static final String LLAMA31_TOOLS = """
            {{- bos_token }}
            {%- if tools is not none %}
                {{- '<|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\n\n' }}
                {%- for t in tools %}
                    {{- t | tojson(indent=4) + '\n\n' }}
                {%- endfor %}
                {{- '<|eot_id|>' }}
            {%- endif %}
            {%- for message in messages %}
                {%- if 'tool_calls' in message %}
                    {%- set call = message.tool_calls[0].function %}
                    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n{"name": "' + call.name + '", "parameters": ' }}
                    {{- call.arguments | tojson + '}<|eot_id|>' }}
                {%- elif message.role == 'tool' %}
                    {{- '<|start_header_id|>ipython<|end_header_id|>\n\n' + message.content + '<|eot_id|>' }}
                {%- else %}
                    {{- '<|start_header_id|>' + message.role + '<|end_header_id|>\n\n' + message.content | trim + '<|eot_id|>' }}
                {%- endif %}
            {%- endfor %}
            {%- if add_generation_prompt %}
                {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
            {%- endif %}
            """;
}
