package io.kvmesh.openai;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.kvmesh.model.chat.ChatMessage;
import io.kvmesh.model.chat.ChatTool;

/**
 * Parses and validates an OpenAI request body. Every refusal is an {@link OpenAiException} with a 400 naming the
 * parameter, never a stack trace. Unknown fields are accepted and ignored, as OpenAI-compatible servers do (so is
 * {@code tools} on a completion, as vLLM's completions API has none).
 */
public final class InferenceRequestParser {

    /** Largest {@code max_tokens} accepted. */
    public static final int MAX_TOKENS_LIMIT = 1 << 20;
    public static final int DEFAULT_COMPLETION_MAX_TOKENS = 16;
    public static final int DEFAULT_CHAT_MAX_TOKENS = 256;
    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");

    private final ObjectMapper json = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    public InferenceRequest parse(InferenceRequest.Kind kind, byte[] body) {
        JsonNode root = readJson(body);
        if (!root.isObject()) {
            throw invalid("The request body must be a JSON object.", null);
        }
        String model = text(root, "model", true);
        String prompt = null;
        int[] promptTokens = null;
        List<ChatMessage> messages = null;
        List<ChatTool> tools = List.of();
        InferenceRequest.ToolChoice toolChoice = InferenceRequest.ToolChoice.NONE;
        if (kind == InferenceRequest.Kind.COMPLETION) {
            JsonNode value = root.get("prompt");
            if (value == null || value.isNull()) {
                throw invalid("'prompt' is a required property.", "prompt");
            }
            if (value.isTextual()) {
                prompt = value.textValue();
            } else if (value.isArray() && value.size() == 1 && value.get(0).isTextual()) {
                prompt = value.get(0).textValue();
            } else if (value.isArray() && !value.isEmpty() && allIntegers(value)) {
                promptTokens = new int[value.size()];
                for (int i = 0; i < promptTokens.length; i++) {
                    long id = value.get(i).longValue();
                    if (id < 0 || id > Integer.MAX_VALUE) {
                        throw invalid("'prompt' token ids must be non-negative integers.", "prompt");
                    }
                    promptTokens[i] = (int) id;
                }
            } else {
                throw invalid("'prompt' must be a string, an array of one string, or an array of token ids.", "prompt");
            }
        } else {
            messages = messages(root.get("messages"));
            tools = tools(root.get("tools"));
            toolChoice = toolChoice(root.get("tool_choice"), !tools.isEmpty());
        }
        int defaultMax = kind == InferenceRequest.Kind.CHAT ? DEFAULT_CHAT_MAX_TOKENS : DEFAULT_COMPLETION_MAX_TOKENS;
        String maxName = root.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        int maxTokens = (int) integer(root, maxName, 1, MAX_TOKENS_LIMIT, defaultMax);
        boolean stream = bool(root, "stream", false);
        boolean includeUsage = false;
        JsonNode streamOptions = root.get("stream_options");
        if (streamOptions != null && !streamOptions.isNull()) {
            if (!streamOptions.isObject()) {
                throw invalid("'stream_options' must be an object.", "stream_options");
            }
            includeUsage = bool(streamOptions, "include_usage", false);
        }
        long n = integer(root, "n", 1, Integer.MAX_VALUE, 1);
        if (n != 1) {
            throw invalid("Only n = 1 is supported.", "n");
        }
        double temperature = number(root, "temperature", 0.0, 2.0, 1.0);
        double topP = number(root, "top_p", Double.MIN_VALUE, 1.0, 1.0);
        int topK = (int) integer(root, "top_k", -1, Integer.MAX_VALUE, 0);
        List<String> stop = stop(root.get("stop"));
        JsonNode seedNode = root.get("seed");
        Long seed = seedNode == null || seedNode.isNull() ? null : integer(root, "seed", Long.MIN_VALUE, Long.MAX_VALUE, 0);
        String user = text(root, "user", false);
        // vLLM's prefix-cache isolation: requests share cached blocks only when their salts are equal.
        String cacheSalt = text(root, "cache_salt", false);
        if (cacheSalt != null && (cacheSalt.isEmpty() || cacheSalt.indexOf('\0') >= 0)) {
            throw invalid("'cache_salt' must be a non-empty string without NUL characters.", "cache_salt");
        }
        // A kvmesh extension: this turn ends in a (simulated) call of the named tool, so its session pauses.
        String toolCall = text(root, "kvmesh_tool_call", false);
        if (toolCall != null && (toolCall.isBlank() || toolCall.length() > 256)) {
            throw invalid("'kvmesh_tool_call' must name a tool: 1 to 256 characters, not all blank.", "kvmesh_tool_call");
        }
        if (user != null && user.length() > 512) {
            throw invalid("'user' must be at most 512 characters.", "user");
        }
        return new InferenceRequest(kind, model, prompt, promptTokens, messages, maxTokens, stream, includeUsage,
                temperature, topP, Math.max(0, topK), seed, stop, user, cacheSalt == null ? "" : cacheSalt, toolCall,
                tools, toolChoice);
    }

    private JsonNode readJson(byte[] body) {
        if (body == null || body.length == 0) {
            throw invalid("The request body is empty; expected a JSON object.", null);
        }
        try {
            return json.readTree(body);
        } catch (JsonProcessingException e) {
            throw invalid("The request body is not valid JSON: " + e.getOriginalMessage(), null);
        } catch (IOException e) {
            throw invalid("The request body could not be read.", null);
        }
    }

    /** A string or an array of up to four non-empty strings. */
    private static List<String> stop(JsonNode value) {
        if (value == null || value.isNull()) {
            return List.of();
        }
        List<String> stops = new ArrayList<>();
        if (value.isTextual()) {
            stops.add(value.textValue());
        } else if (value.isArray() && value.size() <= 4) {
            for (JsonNode element : value) {
                if (!element.isTextual()) {
                    throw invalid("'stop' must be a string or an array of up to 4 strings.", "stop");
                }
                stops.add(element.textValue());
            }
        } else {
            throw invalid("'stop' must be a string or an array of up to 4 strings.", "stop");
        }
        if (stops.stream().anyMatch(String::isEmpty)) {
            throw invalid("'stop' strings must not be empty.", "stop");
        }
        return List.copyOf(stops);
    }

    private List<ChatMessage> messages(JsonNode value) {
        if (value == null || value.isNull()) {
            throw invalid("'messages' is a required property.", "messages");
        }
        if (!value.isArray() || value.isEmpty()) {
            throw invalid("'messages' must be a non-empty array.", "messages");
        }
        List<ChatMessage> messages = new ArrayList<>(value.size());
        for (int i = 0; i < value.size(); i++) {
            JsonNode message = value.get(i);
            String at = "messages[" + i + "]";
            if (!message.isObject()) {
                throw invalid("'" + at + "' must be an object.", at);
            }
            JsonNode role = message.get("role");
            if (role == null || !role.isTextual() || !ROLES.contains(role.textValue())) {
                throw invalid("'" + at + ".role' must be one of " + ROLES + ".", at + ".role");
            }
            String content = content(message.get("content"), at + ".content");
            List<ChatMessage.ToolCall> toolCalls = toolCalls(message.get("tool_calls"), role.textValue(), at + ".tool_calls");
            String toolCallId = text(message, "tool_call_id", at + ".tool_call_id");
            String name = text(message, "name", at + ".name");
            messages.add(new ChatMessage(role.textValue(), content, toolCalls, toolCallId, name));
        }
        return messages;
    }

    /**
     * An assistant message's {@code tool_calls}: {@code [{"id", "type": "function", "function": {"name",
     * "arguments"}}]}, {@code arguments} a string of JSON (given to the template as its value, as vLLM does; a
     * string that is not JSON is given as it is).
     */
    private List<ChatMessage.ToolCall> toolCalls(JsonNode value, String role, String at) {
        if (value == null || value.isNull()) {
            return List.of();
        }
        if (!"assistant".equals(role)) {
            throw invalid("'" + at + "' is only allowed on assistant messages.", at);
        }
        if (!value.isArray()) {
            throw invalid("'" + at + "' must be an array of tool calls.", at);
        }
        List<ChatMessage.ToolCall> calls = new ArrayList<>(value.size());
        for (int i = 0; i < value.size(); i++) {
            JsonNode call = value.get(i);
            String callAt = at + "[" + i + "]";
            if (!call.isObject()) {
                throw invalid("'" + callAt + "' must be an object.", callAt);
            }
            String id = text(call, "id", callAt + ".id");
            if (id == null) {
                throw invalid("'" + callAt + ".id' is a required property.", callAt + ".id");
            }
            functionType(call, callAt);
            JsonNode function = function(call, callAt);
            String name = name(function, callAt + ".function.name");
            String arguments = text(function, "arguments", callAt + ".function.arguments");
            if (arguments == null) {
                throw invalid("'" + callAt + ".function.arguments' is a required property.", callAt + ".function.arguments");
            }
            calls.add(new ChatMessage.ToolCall(id, name, argumentsValue(arguments)));
        }
        return calls;
    }

    /** The value of an arguments string of JSON, as plain Java values; the string itself when it is not JSON. */
    private Object argumentsValue(String arguments) {
        try {
            JsonNode value = json.readTree(arguments);
            return value.isMissingNode() ? arguments : plain(value);
        } catch (JsonProcessingException e) {
            return arguments;
        }
    }

    /**
     * {@code tools}: a non-empty array of {@code {"type": "function", "function": {"name", "description"?,
     * "parameters"?}}} with distinct names; each kept whole (other fields too) for the chat template.
     */
    private static List<ChatTool> tools(JsonNode value) {
        if (value == null || value.isNull()) {
            return List.of();
        }
        if (!value.isArray() || value.isEmpty()) {
            throw invalid("'tools' must be a non-empty array of tools.", "tools");
        }
        List<ChatTool> tools = new ArrayList<>(value.size());
        Set<String> names = new HashSet<>();
        for (int i = 0; i < value.size(); i++) {
            JsonNode tool = value.get(i);
            String at = "tools[" + i + "]";
            if (!tool.isObject()) {
                throw invalid("'" + at + "' must be an object.", at);
            }
            functionType(tool, at);
            JsonNode function = function(tool, at);
            String name = name(function, at + ".function.name");
            if (!names.add(name)) {
                throw invalid("'" + at + ".function.name' repeats the tool name '" + name + "'; tool names must be unique.",
                        at + ".function.name");
            }
            text(function, "description", at + ".function.description");
            JsonNode parameters = function.get("parameters");
            if (parameters != null && !parameters.isNull() && !parameters.isObject()) {
                throw invalid("'" + at + ".function.parameters' must be a JSON Schema object.", at + ".function.parameters");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> definition = (Map<String, Object>) plain(tool);
            tools.add(new ChatTool(name, definition));
        }
        return List.copyOf(tools);
    }

    /**
     * {@code tool_choice}: {@code "auto"} (the default with tools) or {@code "none"} (the default without). Forcing a
     * call ({@code "required"}, or naming a function) needs constrained decoding, which kvmesh does not do: refused.
     */
    private static InferenceRequest.ToolChoice toolChoice(JsonNode value, boolean hasTools) {
        if (value == null || value.isNull()) {
            return hasTools ? InferenceRequest.ToolChoice.AUTO : InferenceRequest.ToolChoice.NONE;
        }
        if (value.isTextual() && value.textValue().equals("none")) {
            return InferenceRequest.ToolChoice.NONE;
        }
        if (value.isTextual() && value.textValue().equals("auto")) {
            if (!hasTools) {
                throw invalid("'tool_choice' is only allowed when 'tools' are given.", "tool_choice");
            }
            return InferenceRequest.ToolChoice.AUTO;
        }
        if ((value.isTextual() && value.textValue().equals("required")) || value.isObject()) {
            throw invalid("'tool_choice' " + (value.isObject() ? "naming a function" : "\"required\"")
                    + " is not supported: forcing a tool call needs constrained decoding, which this server does not do;"
                    + " use \"auto\" or \"none\".", "tool_choice");
        }
        throw invalid("'tool_choice' must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": …}}.",
                "tool_choice");
    }

    /** {@code type}, which must be {@code "function"} (the only kind of tool OpenAI's chat API has). */
    private static void functionType(JsonNode object, String at) {
        JsonNode type = object.get("type");
        if (type == null || !type.isTextual() || !type.textValue().equals("function")) {
            throw invalid("'" + at + ".type' must be \"function\".", at + ".type");
        }
    }

    private static JsonNode function(JsonNode object, String at) {
        JsonNode function = object.get("function");
        if (function == null || !function.isObject()) {
            throw invalid("'" + at + ".function' must be an object.", at + ".function");
        }
        return function;
    }

    /** A function's name: 1 to 256 characters, not all blank (any characters, so tool names like {@code web.search} work). */
    private static String name(JsonNode function, String at) {
        JsonNode name = function.get("name");
        if (name == null || name.isNull()) {
            throw invalid("'" + at + "' is a required property.", at);
        }
        if (!name.isTextual() || name.textValue().isBlank() || name.textValue().length() > 256) {
            throw invalid("'" + at + "' must be a string of 1 to 256 characters, not all blank.", at);
        }
        return name.textValue();
    }

    /**
     * A JSON value as the plain Java values chat templates read: {@code Map} (key order kept), {@code List},
     * {@code String}, {@code Long} or {@code BigInteger}, {@code Double}, {@code Boolean}, null. Read-only.
     */
    private static Object plain(JsonNode node) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return null;
        }
        if (node.isObject()) {
            Map<String, Object> map = new LinkedHashMap<>();
            node.properties().forEach(field -> map.put(field.getKey(), plain(field.getValue())));
            return Collections.unmodifiableMap(map);
        }
        if (node.isArray()) {
            List<Object> list = new ArrayList<>(node.size());
            node.forEach(element -> list.add(plain(element)));
            return Collections.unmodifiableList(list);
        }
        if (node.isTextual()) {
            return node.textValue();
        }
        if (node.isBoolean()) {
            return node.booleanValue();
        }
        if (node.isIntegralNumber()) {
            return node.canConvertToLong() ? (Object) node.longValue() : node.bigIntegerValue();
        }
        if (node.isNumber()) {
            return node.doubleValue();
        }
        return node.asText();
    }

    /** A string, or an array of {@code {"type":"text","text":…}} parts, joined. */
    private static String content(JsonNode value, String at) {
        if (value == null || value.isNull()) {
            return "";
        }
        if (value.isTextual()) {
            return value.textValue();
        }
        if (value.isArray()) {
            StringBuilder text = new StringBuilder();
            for (JsonNode part : value) {
                JsonNode partText = part.get("text");
                if (!part.isObject() || !"text".equals(part.path("type").asText()) || partText == null || !partText.isTextual()) {
                    throw invalid("'" + at + "' parts must be {\"type\": \"text\", \"text\": string}; other part types are not supported.", at);
                }
                text.append(partText.textValue());
            }
            return text.toString();
        }
        throw invalid("'" + at + "' must be a string or an array of text parts.", at);
    }

    private static boolean allIntegers(JsonNode array) {
        for (JsonNode element : array) {
            if (!element.isIntegralNumber()) {
                return false;
            }
        }
        return true;
    }

    /** An optional string field {@code name} of {@code object}, null when absent; {@code at} is its path for errors. */
    private static String text(JsonNode object, String name, String at) {
        JsonNode value = object.get(name);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isTextual()) {
            throw invalid("'" + at + "' must be a string.", at);
        }
        return value.textValue();
    }

    private static String text(JsonNode object, String name, boolean required) {
        JsonNode value = object.get(name);
        if (value == null || value.isNull()) {
            if (required) {
                throw invalid("'" + name + "' is a required property.", name);
            }
            return null;
        }
        if (!value.isTextual()) {
            throw invalid("'" + name + "' must be a string.", name);
        }
        return value.textValue();
    }

    private static long integer(JsonNode object, String name, long min, long max, long fallback) {
        JsonNode value = object.get(name);
        if (value == null || value.isNull()) {
            return fallback;
        }
        if (!value.isIntegralNumber() || !value.canConvertToLong()) {
            throw invalid("'" + name + "' must be an integer.", name);
        }
        long number = value.longValue();
        if (number < min || number > max) {
            throw invalid("'" + name + "' must be between " + min + " and " + max + ", got " + number + ".", name);
        }
        return number;
    }

    private static double number(JsonNode object, String name, double min, double max, double fallback) {
        JsonNode value = object.get(name);
        if (value == null || value.isNull()) {
            return fallback;
        }
        if (!value.isNumber()) {
            throw invalid("'" + name + "' must be a number.", name);
        }
        double number = value.doubleValue();
        if (!(number >= min && number <= max)) {
            throw invalid("'" + name + "' must be between " + min + " and " + max + ".", name);
        }
        return number;
    }

    private static boolean bool(JsonNode object, String name, boolean fallback) {
        JsonNode value = object.get(name);
        if (value == null || value.isNull()) {
            return fallback;
        }
        if (!value.isBoolean()) {
            throw invalid("'" + name + "' must be a boolean.", name);
        }
        return value.booleanValue();
    }

    private static OpenAiException invalid(String message, String param) {
        return new OpenAiException(OpenAiError.invalidRequest(message, param));
    }
}
