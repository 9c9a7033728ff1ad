package io.kvmesh.openai;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** An error as OpenAI's API reports it: an HTTP status and {@code {"error":{"message","type","param","code"}}}. */
public record OpenAiError(int status, String message, String type, String param, String code) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public static OpenAiError invalidRequest(String message, String param) {
        return new OpenAiError(400, message, "invalid_request_error", param, null);
    }

    /** OpenAI's answer to a missing or wrong API key. */
    public static OpenAiError invalidApiKey() {
        return new OpenAiError(401, "Incorrect API key provided. Send it as 'Authorization: Bearer KEY'.",
                "invalid_request_error", null, "invalid_api_key");
    }

    public static OpenAiError modelNotFound(String model) {
        return new OpenAiError(404, "The model `" + model + "` does not exist.", "invalid_request_error", "model", "model_not_found");
    }

    public static OpenAiError notFound(String path) {
        return new OpenAiError(404, "Unknown path " + path, "invalid_request_error", null, "not_found");
    }

    public static OpenAiError methodNotAllowed(String method, String path) {
        return new OpenAiError(405, "Method " + method + " is not allowed on " + path, "invalid_request_error", null, "method_not_allowed");
    }

    public static OpenAiError tooLarge() {
        return new OpenAiError(413, "The request body is too large.", "invalid_request_error", null, "request_too_large");
    }

    public static OpenAiError unavailable(String message) {
        return new OpenAiError(503, message, "service_unavailable", null, "no_capacity");
    }

    public static OpenAiError internal(String message) {
        return new OpenAiError(500, message, "server_error", null, null);
    }

    public String toJson() {
        ObjectNode body = JSON.createObjectNode();
        ObjectNode error = body.putObject("error");
        error.put("message", message);
        error.put("type", type);
        error.put("param", param);
        error.put("code", code);
        return body.toString();
    }
}
