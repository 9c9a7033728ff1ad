package io.kvmesh.openai;

import java.util.List;

import io.kvmesh.model.chat.ChatMessage;
import io.kvmesh.model.chat.ChatTool;

/**
 * A validated {@code /v1/completions} or {@code /v1/chat/completions} request, reduced to what serving needs.
 * Exactly one of {@code prompt}, {@code promptTokens} (completions given token ids) and {@code messages} is set.
 * {@code user} is OpenAI's end-user id (a pod's session key when no {@code x-kvmesh-session} header is sent).
 * {@code topK} 0 means no cut ({@code top_k}, a vLLM extension); {@code stop} holds up to four stop strings.
 * {@code cacheSalt} is vLLM's {@code cache_salt} (requests share cached blocks only with equal salts), empty when
 * none was sent. {@code toolCall} ({@code kvmesh_tool_call}, a kvmesh extension; null when absent) names the tool this
 * turn's answer calls: the turn ends with {@code finish_reason: "tool_calls"} and its session pauses on that tool.
 * {@code tools} are a chat's function definitions (empty when none; the chat template renders them) and
 * {@code toolChoice} whether the answer is read for calls of them ({@code tool_choice}: {@code "auto"}, the default
 * with tools, or {@code "none"}).
 */
public record InferenceRequest(
        Kind kind,
        String model,
        String prompt,
        int[] promptTokens,
        List<ChatMessage> messages,
        int maxTokens,
        boolean stream,
        boolean includeUsage,
        double temperature,
        double topP,
        int topK,
        Long seed,
        List<String> stop,
        String user,
        String cacheSalt,
        String toolCall,
        List<ChatTool> tools,
        ToolChoice toolChoice) {

    /** Whether the answer is read for tool calls: a chat with tools and {@code tool_choice} {@code "auto"}. */
    public boolean recognisesToolCalls() {
        return kind == Kind.CHAT && !tools.isEmpty() && toolChoice == ToolChoice.AUTO;
    }

    /** OpenAI's {@code tool_choice} values kvmesh serves; {@code "required"} and a named function are refused. */
    public enum ToolChoice {
        /** The model answers in text; tools are still rendered into the prompt (vLLM's default). */
        NONE,
        /** The model may answer with calls, recognised in its output. */
        AUTO
    }

    public enum Kind {
        COMPLETION("/v1/completions"),
        CHAT("/v1/chat/completions");

        private final String path;

        Kind(String path) {
            this.path = path;
        }

        public String path() {
            return path;
        }
    }
}
