package io.kvmesh.model.chat;

import java.util.List;

/**
 * The chat format used when a model has no {@code tokenizer.chat_template}: each message as
 * {@code <|role|>\ncontent\n}, then {@code <|assistant|>\n} to prompt the answer. Deterministic, so the router
 * renders exactly the prompt the pod will see, and a conversation's next turn extends the previous prompt.
 */
public final class FallbackChatTemplate {

    private FallbackChatTemplate() {
    }

    public static String render(List<ChatMessage> messages) {
        StringBuilder prompt = new StringBuilder();
        for (ChatMessage message : messages) {
            prompt.append("<|").append(message.role()).append("|>\n").append(message.content()).append('\n');
        }
        return prompt.append("<|assistant|>\n").toString();
    }
}
