package io.kvmesh.model.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.kvmesh.model.gguf.GgufFile;
import io.kvmesh.model.gguf.GgufValue;
import io.kvmesh.model.gguf.GgufWriter;

/** Which template a model gets, and why. */
class ChatTemplatesTest {

    private static GgufFile gguf(String chatTemplate) throws Exception {
        GgufWriter writer = new GgufWriter()
                .put("general.architecture", GgufValue.string("llama"))
                .put("tokenizer.ggml.tokens", GgufValue.strings(new String[] {"<unk>", "<|begin_of_text|>", "<|eot_id|>", "a"}))
                .put("tokenizer.ggml.bos_token_id", GgufValue.uint32(1))
                .put("tokenizer.ggml.eos_token_id", GgufValue.uint32(2));
        if (chatTemplate != null) {
            writer.put(ChatTemplates.KEY, GgufValue.string(chatTemplate));
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        writer.write(out);
        return GgufFile.of(out.toByteArray());
    }

    @Test
    void theModelsOwnTemplateWithItsBosAndEosTokenTexts() throws Exception {
        try (GgufFile file = gguf(ChatTemplates.LLAMA3)) {
            ChatTemplate template = ChatTemplates.fromGguf(file);
            assertThat(template).isInstanceOf(JinjaChatTemplate.class);
            JinjaChatTemplate jinja = (JinjaChatTemplate) template;
            assertThat(jinja.bosToken()).isEqualTo("<|begin_of_text|>");
            assertThat(jinja.eosToken()).isEqualTo("<|eot_id|>");
            assertThat(template.render(List.of(new ChatMessage("user", "x")), true)).startsWith("<|begin_of_text|><|start_header_id|>");
            assertThat(template.description()).startsWith("Jinja chat template from tokenizer.chat_template");
        }
    }

    @Test
    void fallbackWhenTheModelHasNoTemplate() throws Exception {
        try (GgufFile file = gguf(null)) {
            assertThat(ChatTemplates.fromGguf(file)).isInstanceOfSatisfying(FallbackChatTemplate.class,
                    t -> assertThat(t.reason()).isEqualTo("the model has no tokenizer.chat_template"));
        }
        assertThat(reason(ChatTemplates.select("  ", "", ""))).isEqualTo("tokenizer.chat_template is empty");
    }

    @Test
    void fallbackWithTheReasonWhenJinjavaCannotParseOrRenderIt() throws Exception {
        try (GgufFile file = gguf("{% for message in messages %}{{ message.content }}")) {
            assertThat(reason(ChatTemplates.fromGguf(file))).startsWith("tokenizer.chat_template is not usable: the chat template does not parse")
                    .contains("endfor");
        }
        assertThat(reason(ChatTemplates.select("{{ messages | unheard_of_filter }}", "", "")))
                .isEqualTo("tokenizer.chat_template does not render: the chat template failed: no filter named 'unheard_of_filter' (line 1)");
        // Rendering a system message is part of the probe: a template failing only there is not chosen either.
        assertThat(reason(ChatTemplates.select("{% for m in messages %}{% if m.role == 'system' %}{{ m | nope }}{% endif %}"
                + "{{ m.content }}{% endfor %}", "", ""))).startsWith("tokenizer.chat_template does not render");
        assertThat(reason(ChatTemplates.select("{{ raise_exception('no chats here') }}", "", "")))
                .isEqualTo("tokenizer.chat_template refuses every probe conversation: no chats here");
    }

    @Test
    void aTemplateRefusingSomeConversationsIsStillChosen() {
        // Gemma refuses a system message, renders the rest.
        String gemma = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
                + "{% endif %}{% for message in messages %}{{ '<start_of_turn>' + message['role'] + '\\n' + message['content'] | trim"
                + " + '<end_of_turn>\\n' }}{% endfor %}";
        assertThat(ChatTemplates.select(gemma, "<bos>", "<eos>")).isInstanceOf(JinjaChatTemplate.class);
    }

    private static String reason(ChatTemplate template) {
        assertThat(template).isInstanceOf(FallbackChatTemplate.class);
        assertThat(template.description()).contains(((FallbackChatTemplate) template).reason());
        return ((FallbackChatTemplate) template).reason();
    }
}
