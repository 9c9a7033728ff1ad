package io.kvmesh.model.chat;

import java.util.Map;
import java.util.Objects;

/**
 * A tool (function) the model may call: its {@code name}, and its whole {@code definition} as the client sent it
 * ({@code {"type": "function", "function": {"name", "description", "parameters", …}}}) in plain Java values with
 * the client's key order, which is what chat templates receive as an item of {@code tools}. The definition is not
 * reordered or completed, so the same request always renders the same text.
 */
public record ChatTool(String name, Map<String, Object> definition) {

    public ChatTool {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(definition, "definition");
    }
}
