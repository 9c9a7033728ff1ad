package io.kvmesh.openai;

import java.util.Objects;

import io.kvmesh.model.chat.ChatTemplate;
import io.kvmesh.model.chat.ChatTemplates;
import io.kvmesh.model.chat.FallbackChatTemplate;
import io.kvmesh.model.gguf.GgufFile;
import io.kvmesh.model.tokenizer.Tokenizer;
import io.kvmesh.model.tokenizer.Tokenizers;

/**
 * How a model's requests become token ids: its tokenizer and its chat template. The router and the pods build it
 * from the same model file ({@link #fromGguf}), so {@link PromptEncoder} gives both the same ids and the router's
 * block hashes name the blocks the pods cache.
 */
public record PromptFormat(Tokenizer tokenizer, ChatTemplate chatTemplate) {

    public PromptFormat {
        Objects.requireNonNull(tokenizer, "tokenizer");
        Objects.requireNonNull(chatTemplate, "chatTemplate");
    }

    /** The tokenizer ({@code tokenizer.ggml.*}) and chat template ({@code tokenizer.chat_template}) of a GGUF model. */
    public static PromptFormat fromGguf(GgufFile gguf) {
        return new PromptFormat(Tokenizers.fromGguf(gguf), ChatTemplates.fromGguf(gguf));
    }

    /** {@code tokenizer} with the fallback chat format, for a model without a file (the {@code sim} backend). */
    public static PromptFormat withFallbackChat(Tokenizer tokenizer, String reason) {
        return new PromptFormat(tokenizer, new FallbackChatTemplate(reason));
    }
}
