package io.kvmesh.openai;

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
        ObjectNode body = header(kind, id, created, model, false);
        ObjectNode choice = body.putArray("choices").addObject();
        choice.put("index", 0);
        if (kind == InferenceRequest.Kind.CHAT) {
            ObjectNode message = choice.putObject("message");
            message.put("role", "assistant");
            message.put("content", text);
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
