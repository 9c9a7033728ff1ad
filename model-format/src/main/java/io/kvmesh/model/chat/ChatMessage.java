package io.kvmesh.model.chat;

import java.util.Objects;

/** One message of a chat: {@code role} (system, user, assistant, tool) and its text. */
public record ChatMessage(String role, String content) {

    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }
}
