package io.kvmesh.openai;

import java.util.Objects;

/**
 * A call the model made, as the API returns it: {@code {"id", "type": "function", "function": {"name",
 * "arguments"}}}, {@code arguments} being the call's arguments object as JSON text.
 */
public record ToolCall(String id, String name, String arguments) {

    public ToolCall {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(arguments, "arguments");
    }
}
