package io.kvmesh.model.chat;

import java.util.List;

import io.kvmesh.model.gguf.GgufFile;
import io.kvmesh.model.gguf.GgufFormatException;

/**
 * Chooses a model's chat template: its own Jinja template ({@code tokenizer.chat_template}) when the file has one
 * that Jinjava parses and that renders the probe conversations (one user message; system + user; user, assistant,
 * user) without failing (refusing some of them with {@code raise_exception} is allowed, refusing all is not),
 * otherwise the {@link FallbackChatTemplate}. The chosen template's {@link ChatTemplate#description()} says which one
 * and why.
 */
public final class ChatTemplates {

    /** The GGUF key of the model's default chat template. */
    public static final String KEY = "tokenizer.chat_template";

    /**
     * Llama 3's chat template, verbatim from Meta-Llama-3-8B-Instruct's {@code tokenizer_config.json}; gen-model
     * writes it into generated models.
     */
    public static final String LLAMA3 = "{% set loop_messages = messages %}{% for message in loop_messages %}"
            + "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] "
            + "| trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
            + "{{ content }}{% endfor %}{% if add_generation_prompt %}"
            + "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

    /**
     * Conversations a usable template must render (a template may refuse some with {@code raise_exception}, as
     * Gemma refuses a system message, but not all): what every chat request looks like.
     */
    private static final List<List<ChatMessage>> PROBES = List.of(
            List.of(new ChatMessage("user", "Hello")),
            List.of(new ChatMessage("system", "You are helpful."), new ChatMessage("user", "Hello")),
            List.of(new ChatMessage("user", "Hello"), new ChatMessage("assistant", "Hi."), new ChatMessage("user", "Bye")));

    private ChatTemplates() {
    }

    /**
     * The chat template of a GGUF model: its {@code tokenizer.chat_template} with {@code bos_token} and
     * {@code eos_token} the texts of its BOS and EOS tokens, or the fallback (with the reason) when there is none or
     * it does not work.
     */
    public static ChatTemplate fromGguf(GgufFile gguf) {
        if (!gguf.has(KEY)) {
            return new FallbackChatTemplate("the model has no " + KEY);
        }
        String source;
        String bos;
        String eos;
        try {
            source = gguf.string(KEY);
            String[] tokens = gguf.has("tokenizer.ggml.tokens") ? gguf.strings("tokenizer.ggml.tokens") : new String[0];
            bos = tokenText(tokens, gguf.integer("tokenizer.ggml.bos_token_id", -1));
            eos = tokenText(tokens, gguf.integer("tokenizer.ggml.eos_token_id", -1));
        } catch (GgufFormatException e) {
            return new FallbackChatTemplate(KEY + " cannot be read: " + e.getMessage());
        }
        return select(source, bos, eos);
    }

    /** The Jinja template {@code source} when it parses and renders the probe conversations, else the fallback. */
    public static ChatTemplate select(String source, String bosToken, String eosToken) {
        if (source == null || source.isBlank()) {
            return new FallbackChatTemplate(KEY + " is empty");
        }
        JinjaChatTemplate template;
        try {
            template = new JinjaChatTemplate(source, bosToken, eosToken);
        } catch (ChatTemplateException e) {
            return new FallbackChatTemplate(KEY + " is not usable: " + e.getMessage());
        }
        String refusal = null;
        boolean rendered = false;
        for (List<ChatMessage> probe : PROBES) {
            try {
                template.render(probe, true);
                rendered = true;
            } catch (ChatTemplateException e) {
                if (!e.raisedByTemplate()) {
                    return new FallbackChatTemplate(KEY + " does not render: " + e.getMessage());
                }
                refusal = e.getMessage();
            }
        }
        return rendered ? template : new FallbackChatTemplate(KEY + " refuses every probe conversation: " + refusal);
    }

    private static String tokenText(String[] tokens, long id) {
        return id >= 0 && id < tokens.length ? tokens[(int) id] : "";
    }
}
