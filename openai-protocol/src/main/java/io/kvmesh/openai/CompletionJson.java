package io.kvmesh.openai;

import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The response bodies and SSE chunks of {@code /v1/completions} and {@code /v1/chat/completions}. */
public final class CompletionJson {

    private static final ObjectMapper JSON = new ObjectMapper();

    private CompletionJson() {
    }

    /** A whole (non-streaming) response. */
    public static String response(InferenceRequest.Kind kind, String id, long created, String model, String text,
                                  String finishReason, Usage usage) {
        return response(kind, id, created, model, text, List.of(), finishReason, usage);
    }

    /**
     * A whole (non-streaming) response; a chat answer that made {@code toolCalls} has them as
     * {@code message.tool_calls} and {@code content} null, as OpenAI and vLLM answer.
     */
    public static String response(InferenceRequest.Kind kind, String id, long created, String model, String text,
                                  List<ToolCall> toolCalls, String finishReason, Usage usage) {
        ObjectNode body = header(kind, id, created, model, false);
        ObjectNode choice = body.putArray("choices").addObject();
        choice.put("index", 0);
        if (kind == InferenceRequest.Kind.CHAT) {
            ObjectNode message = choice.putObject("message");
            message.put("role", "assistant");
            if (toolCalls.isEmpty()) {
                message.put("content", text);
            } else {
                message.putNull("content");
                ArrayNode calls = message.putArray("tool_calls");
                for (ToolCall call : toolCalls) {
                    toolCall(calls.addObject(), call);
                }
            }
        } else {
            choice.put("text", text);
            choice.putNull("logprobs");
        }
        choice.put("finish_reason", finishReason);
        body.set("usage", usage(usage));
        return body.toString();
    }

    /** One streamed chunk carrying {@code delta} (and the role on a chat's first chunk); a finish reason ends it. */
    public static String chunk(InferenceRequest.Kind kind, String id, long created, String model, String delta,
                               boolean first, String finishReason) {
        ObjectNode body = header(kind, id, created, model, true);
        ObjectNode choice = body.putArray("choices").addObject();
        choice.put("index", 0);
        if (kind == InferenceRequest.Kind.CHAT) {
            ObjectNode message = choice.putObject("delta");
            if (first) {
                message.put("role", "assistant");
            }
            if (!delta.isEmpty() || finishReason == null) {
                message.put("content", delta);
            }
        } else {
            choice.put("text", delta);
            choice.putNull("logprobs");
        }
        if (finishReason == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", finishReason);
        }
        return body.toString();
    }

    /**
     * A streamed chat chunk carrying call number {@code index} whole (id, type, name and arguments at once, which
     * OpenAI's clients accumulate like any split), and the role when it is the stream's first chunk.
     */
    public static String toolCallChunk(String id, long created, String model, int index, ToolCall call, boolean first) {
        ObjectNode body = header(InferenceRequest.Kind.CHAT, id, created, model, true);
        ObjectNode choice = body.putArray("choices").addObject();
        choice.put("index", 0);
        ObjectNode delta = choice.putObject("delta");
        if (first) {
            delta.put("role", "assistant");
        }
        toolCall(delta.putArray("tool_calls").addObject().put("index", index), call);
        choice.putNull("finish_reason");
        return body.toString();
    }

    private static void toolCall(ObjectNode node, ToolCall call) {
        node.put("id", call.id());
        node.put("type", "function");
        node.putObject("function").put("name", call.name()).put("arguments", call.arguments());
    }

    /** The final chunk of a stream that asked for {@code stream_options.include_usage}: no choices, the usage. */
    public static String usageChunk(InferenceRequest.Kind kind, String id, long created, String model, Usage usage) {
        ObjectNode body = header(kind, id, created, model, true);
        body.putArray("choices");
        body.set("usage", usage(usage));
        return body.toString();
    }

    /** {@code GET /v1/models} for the given model ids. */
    public static String models(Iterable<String> modelIds, long created) {
        ObjectNode body = JSON.createObjectNode();
        body.put("object", "list");
        ArrayNode data = body.putArray("data");
        for (String id : modelIds) {
            ObjectNode model = data.addObject();
            model.put("id", id);
            model.put("object", "model");
            model.put("created", created);
            model.put("owned_by", "kvmesh");
        }
        return body.toString();
    }

    private static ObjectNode header(InferenceRequest.Kind kind, String id, long created, String model, boolean chunk) {
        ObjectNode body = JSON.createObjectNode();
        body.put("id", id);
        body.put("object", kind == InferenceRequest.Kind.CHAT ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion");
        body.put("created", created);
        body.put("model", model);
        return body;
    }

    private static ObjectNode usage(Usage usage) {
        ObjectNode node = JSON.createObjectNode();
        node.put("prompt_tokens", usage.promptTokens());
        node.put("completion_tokens", usage.completionTokens());
        node.put("total_tokens", usage.promptTokens() + usage.completionTokens());
        node.putObject("prompt_tokens_details").put("cached_tokens", usage.cachedTokens());
        return node;
    }
}
