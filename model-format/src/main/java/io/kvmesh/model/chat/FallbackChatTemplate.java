package io.kvmesh.model.chat;

import java.util.List;
import java.util.Objects;

/**
 * The chat format used when a model has no usable {@code tokenizer.chat_template}: each message as
 * {@code <|role|>\ncontent\n}, then {@code <|assistant|>\n} to prompt the answer (when a generation prompt is asked
 * for). No BOS text: the tokenizer adds BOS. The text is tokenized without special-token parsing, exactly as before
 * chat templates existed, so {@code <|user|>} written by a user stays plain text. Deterministic, so the router
 * renders exactly the prompt the pod will see, and a conversation's next turn extends the previous prompt.
 */
public final class FallbackChatTemplate implements ChatTemplate {

    private final String reason;

    /** {@code reason}: why this model uses the fallback (no template, or one that does not render). */
    public FallbackChatTemplate(String reason) {
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    @Override
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        StringBuilder prompt = new StringBuilder();
        for (ChatMessage message : messages) {
            prompt.append("<|").append(message.role()).append("|>\n").append(message.content()).append('\n');
        }
        if (addGenerationPrompt) {
            prompt.append("<|assistant|>\n");
        }
        return prompt.toString();
    }

    @Override
    public boolean parsesSpecialTokens() {
        return false;
    }

    public String reason() {
        return reason;
    }

    @Override
    public String description() {
        return "fallback chat format (<|role|>\\ncontent\\n … <|assistant|>\\n): " + reason;
    }

    @Override
    public String toString() {
        return description();
    }
}
