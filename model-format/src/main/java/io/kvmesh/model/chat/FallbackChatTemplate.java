package io.kvmesh.model.chat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The chat format used when a model has no usable {@code tokenizer.chat_template}: each message as
 * {@code <|role|>\ncontent\n}, then {@code <|assistant|>\n} to prompt the answer (when a generation prompt is asked
 * for). No BOS text: the tokenizer adds BOS. The text is tokenized without special-token parsing, exactly as before
 * chat templates existed, so {@code <|user|>} written by a user stays plain text. Deterministic, so the router
 * renders exactly the prompt the pod will see, and a conversation's next turn extends the previous prompt.
 *
 * <p>Tools: when a request has them, the prompt starts with {@code <|tools|>\n} and each tool's definition as one
 * line of JSON (as the client sent it). An assistant message's tool calls follow its text (on a new line when there
 * is text) as one line {@code {"name": N, "parameters": ARGS}; …} — the Llama 3 JSON form the API recognises as a
 * call in the model's output — so a model answering in that form continues its own history. A tool result is an
 * ordinary {@code <|tool|>} message (its {@code tool_call_id} is not written).
 */
public final class FallbackChatTemplate implements ChatTemplate {

    private final String reason;

    /** {@code reason}: why this model uses the fallback (no template, or one that does not render). */
    public FallbackChatTemplate(String reason) {
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    @Override
    public String render(List<ChatMessage> messages, List<ChatTool> tools, boolean addGenerationPrompt) {
        StringBuilder prompt = new StringBuilder();
        if (!tools.isEmpty()) {
            prompt.append("<|tools|>\n");
            for (ChatTool tool : tools) {
                prompt.append(PythonJson.dumps(tool.definition(), null, false)).append('\n');
            }
        }
        for (ChatMessage message : messages) {
            prompt.append("<|").append(message.role()).append("|>\n").append(message.content());
            if (!message.toolCalls().isEmpty()) {
                if (!message.content().isEmpty()) {
                    prompt.append('\n');
                }
                prompt.append(calls(message.toolCalls()));
            }
            prompt.append('\n');
        }
        if (addGenerationPrompt) {
            prompt.append("<|assistant|>\n");
        }
        return prompt.toString();
    }

    /** {@code {"name": N, "parameters": ARGS}; …}, in Python's JSON spacing as templates write calls. */
    private static String calls(List<ChatMessage.ToolCall> calls) {
        StringBuilder line = new StringBuilder();
        for (ChatMessage.ToolCall call : calls) {
            if (!line.isEmpty()) {
                line.append("; ");
            }
            Map<String, Object> written = new LinkedHashMap<>();
            written.put("name", call.name());
            written.put("parameters", call.arguments());
            line.append(PythonJson.dumps(written, null, false));
        }
        return line.toString();
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
