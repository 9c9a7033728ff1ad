package io.kvmesh.model.chat;

import java.time.Clock;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.exptest.ExpTest;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.objects.SafeString;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;

import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ExpressionFactory;

/**
 * A model's own chat template ({@code tokenizer.chat_template}, Jinja), rendered with Jinjava the way Hugging Face
 * {@code transformers} renders it: {@code trim_blocks} and {@code lstrip_blocks}, a single trailing newline of the
 * template dropped, and the context {@code messages} (maps with {@code role} and {@code content}, and
 * {@code tool_calls}, {@code tool_call_id} and {@code name} when a message has them), {@code add_generation_prompt},
 * {@code bos_token}, {@code eos_token} (the vocabulary's token texts), {@code raise_exception(message)},
 * {@code strftime_now(format)} and {@code tools}: the request's tool definitions, or none when it has none (Jinjava
 * treats none like undefined, so templates take their no-tools branch). Python semantics Jinjava lacks are added:
 * {@code str} methods ({@code .strip()}, {@code .split()}, {@code .startswith()}, …, {@link PythonMethodResolver}),
 * Python's operator precedence, keyword arguments and slices ({@link PythonExpressionParser}), Python's {@code trim},
 * {@code tojson} as {@code json.dumps}, the {@code items} filter, Python's {@code is iterable} (true for strings and
 * mappings), and the {@code generation} block of transformers.
 * Strings in messages are data, never templates (Jinjava's nested interpretation is off).
 *
 * <p>The template is parsed once; each render uses its own interpreter over the shared parse tree, so one instance
 * serves many threads.
 */
public final class JinjaChatTemplate implements ChatTemplate {

    /** Jinjava's Python-compatible behaviours (operator precedence, whitespace control, map iteration, …). */
    private static final LegacyOverrides PYTHON_SEMANTICS = LegacyOverrides.newBuilder()
            .withEvaluateMapKeys(true)
            .withIterateOverMapKeys(true)
            .withUsePyishObjectMapper(true)
            .withUseNaturalOperatorPrecedence(true)
            .withParseWhitespaceControlStrictly(true)
            .withAllowAdjacentTextNodes(true)
            .withUseTrimmingForNotesAndExpressions(true)
            .withKeepNullableLoopValues(true)
            .build();

    private static final long MAX_OUTPUT_CHARS = 64L << 20;

    /** Expressions parse with Python Jinja's precedence and slices; parsed expressions are cached (thread-safe). */
    private static final ExpressionFactory EXPRESSIONS = PythonExpressionParser.expressionFactory();

    private final String source;
    private final String bosToken;
    private final String eosToken;
    private final JinjavaConfig config;
    private final Jinjava jinjava;
    private final Node root;
    private final Clock clock;

    /** Parses {@code source}; a template Jinjava cannot parse is a {@link ChatTemplateException}. */
    public JinjaChatTemplate(String source, String bosToken, String eosToken) {
        this(source, bosToken, eosToken, Clock.systemUTC());
    }

    /** As {@link #JinjaChatTemplate(String, String, String)}, with the clock {@code strftime_now} reads (UTC). */
    public JinjaChatTemplate(String source, String bosToken, String eosToken, Clock clock) {
        this.source = Objects.requireNonNull(source, "source");
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        this.clock = Objects.requireNonNull(clock, "clock");
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonMethodResolver());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        this.config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withLegacyOverrides(PYTHON_SEMANTICS)
                .withElResolver(resolver)
                .withNestedInterpretationEnabled(false)
                .withMaxOutputSize(MAX_OUTPUT_CHARS)
                .withLocale(Locale.ROOT)
                .withTimeZone(ZoneOffset.UTC)
                .build();
        this.jinjava = new Jinjava(config) {
            @Override
            public ExpressionFactory getExpressionFactory() {
                return EXPRESSIONS;
            }
        };
        jinjava.registerFilter(new PythonTrimFilter());
        jinjava.registerFilter(new ToJsonFilter());
        jinjava.registerFilter(new ItemsFilter());
        jinjava.registerTag(new GenerationTag());
        jinjava.registerExpTest(new PythonIterableTest());
        jinjava.registerFunction(new ELFunctionDefinition("", "raise_exception", JinjaChatTemplate.class,
                "raiseException", Object.class));
        jinjava.registerFunction(new ELFunctionDefinition("", "strftime_now", JinjaChatTemplate.class,
                "strftimeNow", Object.class));
        // Python's Jinja drops one trailing newline of a template (keep_trailing_newline=False).
        String text = source.endsWith("\n") ? source.substring(0, source.length() - 1) : source;
        JinjavaInterpreter parser = jinjava.newInterpreter();
        try (var pushed = JinjavaInterpreter.closeablePushCurrent(parser).get()) {
            this.root = parser.parse(text);
        } catch (RuntimeException e) {
            throw new ChatTemplateException("the chat template does not parse: " + describe(e), false);
        }
        String fatal = firstFatal(parser.getErrors());
        if (fatal != null) {
            throw new ChatTemplateException("the chat template does not parse: " + fatal, false);
        }
    }

    @Override
    public String render(List<ChatMessage> messages, List<ChatTool> tools, boolean addGenerationPrompt) {
        List<Map<String, Object>> conversation = new ArrayList<>(messages.size());
        for (ChatMessage message : messages) {
            conversation.add(entry(message));
        }
        RenderState state = new RenderState(clock);
        Map<String, Object> bindings = new HashMap<>();
        bindings.put("messages", conversation);
        bindings.put("add_generation_prompt", addGenerationPrompt);
        bindings.put("bos_token", bosToken);
        bindings.put("eos_token", eosToken);
        // No tools: none, which Jinjava treats like undefined, so templates take their no-tools branch whether they
        // test "tools is defined", "tools is not none" or "tools". Else the definitions, as transformers passes them.
        bindings.put("tools", tools.isEmpty() ? null : tools.stream().map(ChatTool::definition).toList());
        // The functions are called as functions; as variables they only make "strftime_now is defined" true.
        bindings.put("raise_exception", FUNCTION_MARKER);
        bindings.put("strftime_now", FUNCTION_MARKER);
        bindings.put(STATE, state);
        JinjavaInterpreter interpreter = new JinjavaInterpreter(jinjava,
                new Context(jinjava.getGlobalContextCopy(), bindings, config.getDisabled()), config);
        String output;
        try (var pushed = JinjavaInterpreter.closeablePushCurrent(interpreter).get()) {
            output = interpreter.render(root, false);
        } catch (RuntimeException e) {
            if (state.raised != null) {
                throw new ChatTemplateException(state.raised, true);
            }
            throw new ChatTemplateException("the chat template failed: " + describe(e), false);
        }
        if (state.raised != null) {
            throw new ChatTemplateException(state.raised, true);
        }
        String fatal = firstFatal(interpreter.getErrors());
        if (fatal != null) {
            throw new ChatTemplateException("the chat template failed: " + fatal, false);
        }
        return output;
    }

    /**
     * A message as vLLM hands it to transformers: {@code role} and {@code content}, and only when the message has them
     * {@code tool_calls} (OpenAI's shape, arguments parsed), {@code tool_call_id} and {@code name} — templates test
     * {@code 'tool_calls' in message}, so an absent field is no key at all.
     */
    private static Map<String, Object> entry(ChatMessage message) {
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("role", message.role());
        entry.put("content", message.content());
        if (!message.toolCalls().isEmpty()) {
            List<Map<String, Object>> calls = new ArrayList<>(message.toolCalls().size());
            for (ChatMessage.ToolCall call : message.toolCalls()) {
                Map<String, Object> function = new LinkedHashMap<>();
                function.put("name", call.name());
                function.put("arguments", call.arguments());
                Map<String, Object> written = new LinkedHashMap<>();
                if (call.id() != null) {
                    written.put("id", call.id());
                }
                written.put("type", "function");
                written.put("function", function);
                calls.add(written);
            }
            entry.put("tool_calls", calls);
        }
        if (message.toolCallId() != null) {
            entry.put("tool_call_id", message.toolCallId());
        }
        if (message.name() != null) {
            entry.put("name", message.name());
        }
        return entry;
    }

    @Override
    public boolean parsesSpecialTokens() {
        return true;
    }

    @Override
    public String description() {
        return "Jinja chat template from tokenizer.chat_template (" + source.length() + " characters, bos_token "
                + bosToken + ", eos_token " + eosToken + ")";
    }

    @Override
    public String toString() {
        return description();
    }

    public String source() {
        return source;
    }

    public String bosToken() {
        return bosToken;
    }

    public String eosToken() {
        return eosToken;
    }

    private static String firstFatal(List<TemplateError> errors) {
        for (TemplateError error : errors) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                return error.getMessage() + (error.getLineno() > 0 ? " (line " + error.getLineno() + ")" : "");
            }
        }
        return null;
    }

    private static String describe(Throwable e) {
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    /** The context key of a render's own state; no template names a variable like this. */
    private static final String STATE = "__kvmesh_chat_template_state__";
    private static final String FUNCTION_MARKER = "<function>";

    /** What one render's function calls need: the clock, and the message of a {@code raise_exception}. */
    private static final class RenderState {
        final Clock clock;
        volatile String raised;

        RenderState(Clock clock) {
            this.clock = clock;
        }
    }

    private static RenderState state() {
        JinjavaInterpreter interpreter = JinjavaInterpreter.getCurrent();
        Object state = interpreter == null ? null : interpreter.getContext().get(STATE);
        if (!(state instanceof RenderState renderState)) {
            throw new IllegalStateException("chat template function called outside a render");
        }
        return renderState;
    }

    /** {@code raise_exception(message)}: the template refuses the conversation; the render fails with the message. */
    public static Object raiseException(Object message) {
        String text = message == null ? "the chat template raised an exception" : message.toString();
        RenderState state = state();
        if (state.raised == null) {
            state.raised = text;
        }
        throw new IllegalStateException(text);
    }

    /** {@code strftime_now(format)}: the current UTC time in Python's strftime format (C locale). */
    public static Object strftimeNow(Object format) {
        return strftime(ZonedDateTime.now(state().clock.withZone(ZoneOffset.UTC)), String.valueOf(format));
    }

    /** Python's {@code strftime} for the directives templates use; others stay as written. */
    static String strftime(ZonedDateTime t, String format) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 >= format.length()) {
                out.append(c);
                continue;
            }
            char d = format.charAt(++i);
            switch (d) {
                case 'Y' -> out.append(t.getYear());
                case 'y' -> out.append(String.format("%02d", t.getYear() % 100));
                case 'm' -> out.append(String.format("%02d", t.getMonthValue()));
                case 'd' -> out.append(String.format("%02d", t.getDayOfMonth()));
                case 'e' -> out.append(String.format("%2d", t.getDayOfMonth()));
                case 'j' -> out.append(String.format("%03d", t.getDayOfYear()));
                case 'H' -> out.append(String.format("%02d", t.getHour()));
                case 'I' -> out.append(String.format("%02d", (t.getHour() + 11) % 12 + 1));
                case 'M' -> out.append(String.format("%02d", t.getMinute()));
                case 'S' -> out.append(String.format("%02d", t.getSecond()));
                case 'p' -> out.append(t.getHour() < 12 ? "AM" : "PM");
                case 'b' -> out.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> out.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case '%' -> out.append('%');
                default -> out.append('%').append(d);
            }
        }
        return out.toString();
    }

    /** Python's {@code trim} filter: {@code str.strip(chars)}. */
    private static final class PythonTrimFilter implements Filter {
        @Override
        public String getName() {
            return "trim";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return PythonStrings.strip(var == null ? "" : var.toString(), args.length > 0 ? args[0] : null, true, true);
        }
    }

    /** {@code tojson(indent=None, sort_keys=False)} as transformers defines it ({@code json.dumps}, no HTML escaping). */
    private static final class ToJsonFilter implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.containsKey("indent") ? kwargs.get("indent") : args.length > 0 ? args[0] : null;
            boolean sortKeys = Boolean.TRUE.equals(kwargs.get("sort_keys"));
            return PythonJson.dumps(var, indent instanceof Number n ? Integer.valueOf(n.intValue()) : null, sortKeys);
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return PythonJson.dumps(var, null, false);
        }
    }

    /** {@code items}: a mapping's (key, value) pairs, for {@code for k, v in d | items}. */
    private static final class ItemsFilter implements Filter {
        @Override
        public String getName() {
            return "items";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            List<Map.Entry<Object, Object>> items = new ArrayList<>();
            if (var instanceof Map<?, ?> map) {
                for (Map.Entry<?, ?> entry : map.entrySet()) {
                    items.add(new AbstractMap.SimpleImmutableEntry<>(entry.getKey(), entry.getValue()));
                }
            }
            return items;
        }
    }

    /**
     * Python's {@code is iterable}: strings and mappings are iterable too. Llama 3.1's template writes a tool result
     * that "is iterable" with {@code tojson}, so under transformers a string result appears JSON-quoted.
     */
    private static final class PythonIterableTest implements ExpTest {
        @Override
        public String getName() {
            return "iterable";
        }

        @Override
        public boolean evaluate(Object var, JinjavaInterpreter interpreter, Object... args) {
            return var != null && (var instanceof Iterable<?> || var instanceof Map<?, ?> || var instanceof CharSequence
                    || var instanceof SafeString || var.getClass().isArray());
        }
    }

    /** transformers' {@code {% generation %}…{% endgeneration %}} (marks assistant text for training masks): renders its body. */
    private static final class GenerationTag implements Tag {
        private static final long serialVersionUID = 1L;

        @Override
        public String getName() {
            return "generation";
        }

        @Override
        public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
            StringBuilder out = new StringBuilder();
            for (Node child : tagNode.getChildren()) {
                out.append(child.render(interpreter).getValue());
            }
            return out.toString();
        }
    }
}
