package io.kvmesh.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import io.kvmesh.model.chat.ChatMessage;
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
