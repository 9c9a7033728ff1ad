package io.kvmesh.model.chat;

import java.util.List;
import java.util.Objects;

/**
 * One message of a chat: {@code role} (system, developer, user, assistant, tool) and its text. An assistant message may
 * carry the {@code toolCalls} it made (its text is then often empty); a tool message names the call it answers in
 * {@code toolCallId}; {@code name} is OpenAI's optional participant name. Absent fields are empty or null, and
 * templates see them as absent.
 */
public record ChatMessage(String role, String content, List<ToolCall> toolCalls, String toolCallId, String name) {

    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    }

    /** A message that is only text. */
    public ChatMessage(String role, String content) {
        this(role, content, List.of(), null, null);
    }

    /**
     * One call an assistant message made: OpenAI's {@code {"id", "type": "function", "function": {"name",
     * "arguments"}}}. {@code arguments} is the value of the JSON text the client sent, as plain Java values
     * ({@code Map} in key order, {@code List}, {@code String}, {@code Long}/{@code BigInteger}, {@code Double},
     * {@code Boolean}, null), because templates write it with {@code tojson} as transformers does after vLLM parses
     * it; arguments that are not JSON stay the string they were.
     */
    public record ToolCall(String id, String name, Object arguments) {

        public ToolCall {
            Objects.requireNonNull(name, "name");
        }
    }
}
