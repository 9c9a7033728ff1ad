package io.kvmesh.openai;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.MinimalPrettyPrinter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;

import io.kvmesh.model.chat.ChatTool;

/**
 * Recognises tool calls in a model's answer the way vLLM's {@code llama3_json} tool parser does: the answer (after
 * leading whitespace and an optional {@code <|python_tag|>}) is one JSON object {@code {"name": N, "parameters": {…}}}
 * ({@code "arguments"} instead of {@code "parameters"} too; {@code "arguments"} wins when both are there), or several
 * separated by {@code ;}. Stricter than vLLM in two ways that keep plain answers plain: {@code N} must be one of the
 * request's tools, and nothing but whitespace may surround the calls. An answer that is not wholly calls is text.
 * The arguments are returned as vLLM returns them, {@code json.dumps} of the object ({@code ", "} and {@code ": "}
 * separators, characters unescaped). Immutable.
 */
public final class ToolCallParser {

    /** Llama 3.1's token before a call (written by the model in "ipython" mode; optional for JSON calls). */
    public static final String PYTHON_TAG = "<|python_tag|>";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectWriter PYTHON_JSON = JSON.writer(new PythonSeparators());
    private static final String ID_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /** What the start of an answer says about it while it is still being generated. */
    public enum Prefix {
        /** Only whitespace, or part of {@code <|python_tag|>}, so far: it may go either way. */
        UNDECIDED,
        /** It starts like a call (<code>{</code> or {@code <|python_tag|>}): held back until the answer is complete. */
        MAY_BE_CALL,
        /** It cannot be a call: text. */
        TEXT
    }

    private final Set<String> toolNames;

    /** A parser for calls of the {@code tools} a request offers. */
    public ToolCallParser(Collection<ChatTool> tools) {
        this.toolNames = Set.copyOf(tools.stream().map(ChatTool::name).toList());
    }

    /**
     * What the answer's text so far says; once it is {@link Prefix#MAY_BE_CALL} or {@link Prefix#TEXT}, more text
     * does not change it. Streaming holds an answer back while it may still be a call.
     */
    public Prefix classify(CharSequence text) {
        int start = skipWhitespace(text, 0);
        if (start == text.length()) {
            return Prefix.UNDECIDED;
        }
        if (text.charAt(start) == '{') {
            return Prefix.MAY_BE_CALL;
        }
        String head = text.subSequence(start, Math.min(text.length(), start + PYTHON_TAG.length())).toString();
        if (head.equals(PYTHON_TAG)) {
            return Prefix.MAY_BE_CALL;
        }
        return PYTHON_TAG.startsWith(head) ? Prefix.UNDECIDED : Prefix.TEXT;
    }

    /** The calls a complete answer makes, each with a new id; empty when the answer is text. */
    public List<ToolCall> parse(String text) {
        int at = skipWhitespace(text, 0);
        if (text.startsWith(PYTHON_TAG, at)) {
            at = skipWhitespace(text, at + PYTHON_TAG.length());
        }
        List<ToolCall> calls = new ArrayList<>();
        while (at < text.length()) {
            ObjectAt object = objectAt(text, at);
            ToolCall call = object == null ? null : call(object.value());
            if (call == null) {
                return List.of();
            }
            calls.add(call);
            at = skipWhitespace(text, object.end());
            if (at < text.length()) {
                if (text.charAt(at) != ';') {
                    return List.of();
                }
                at = skipWhitespace(text, at + 1);
            }
        }
        return List.copyOf(calls);
    }

    /** A JSON object read from the text and where it ends (exclusive). */
    private record ObjectAt(JsonNode value, int end) {
    }

    /** The JSON object starting at {@code start}, or null when none does. */
    private static ObjectAt objectAt(String text, int start) {
        if (text.charAt(start) != '{') {
            return null;
        }
        try (JsonParser parser = JSON.getFactory().createParser(text.substring(start))) {
            JsonNode value = JSON.readTree(parser);
            if (value == null || !value.isObject()) {
                return null;
            }
            // The parser stops right after the object's closing brace.
            return new ObjectAt(value, start + (int) parser.currentLocation().getCharOffset());
        } catch (IOException e) {
            return null;
        }
    }

    /** The call {@code object} spells, or null when it is not a call of one of the request's tools. */
    private ToolCall call(JsonNode object) {
        JsonNode name = object.get("name");
        JsonNode arguments = object.has("arguments") ? object.get("arguments") : object.get("parameters");
        if (name == null || !name.isTextual() || !toolNames.contains(name.textValue()) || arguments == null
                || !arguments.isObject()) {
            return null;
        }
        try {
            return new ToolCall(newId(), name.textValue(), PYTHON_JSON.writeValueAsString(arguments));
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    /** {@code call_} and 24 random letters and digits, like OpenAI's call ids. */
    private static String newId() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        StringBuilder id = new StringBuilder("call_");
        for (int i = 0; i < 24; i++) {
            id.append(ID_CHARACTERS.charAt(random.nextInt(ID_CHARACTERS.length())));
        }
        return id.toString();
    }

    private static int skipWhitespace(CharSequence text, int from) {
        int at = from;
        while (at < text.length() && Character.isWhitespace(text.charAt(at))) {
            at++;
        }
        return at;
    }

    /** Python's {@code json.dumps} spacing on one line: {@code ", "} between items, {@code ": "} after keys. */
    private static final class PythonSeparators extends MinimalPrettyPrinter {
        private static final long serialVersionUID = 1L;

        @Override
        public void writeObjectFieldValueSeparator(JsonGenerator g) throws IOException {
            g.writeRaw(": ");
        }

        @Override
        public void writeObjectEntrySeparator(JsonGenerator g) throws IOException {
            g.writeRaw(", ");
        }

        @Override
        public void writeArrayValueSeparator(JsonGenerator g) throws IOException {
            g.writeRaw(", ");
        }
    }
}
