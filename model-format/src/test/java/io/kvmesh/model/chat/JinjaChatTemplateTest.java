package io.kvmesh.model.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;

/** Jinjava with transformers' rendering rules and the Python behaviour chat templates depend on. */
class JinjaChatTemplateTest {

    private static final List<ChatMessage> CHAT = List.of(new ChatMessage("system", " Be brief. "),
            new ChatMessage("user", "Hi"), new ChatMessage("assistant", "Hello!"), new ChatMessage("user", "Bye"));

    private static String render(String template) {
        return new JinjaChatTemplate(template, "<s>", "</s>").render(CHAT, true);
    }

    @Test
    void llama3RendersItsHeadersAndTheGenerationPrompt() {
        JinjaChatTemplate llama3 = new JinjaChatTemplate(ChatTemplates.LLAMA3, "<|begin_of_text|>", "<|eot_id|>");
        assertThat(llama3.render(List.of(new ChatMessage("user", " Hi ")), true)).isEqualTo(
                "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n");
        assertThat(llama3.render(List.of(new ChatMessage("user", "Hi")), false)).doesNotContain("assistant");
        assertThat(llama3.parsesSpecialTokens()).isTrue();
        assertThat(llama3.description()).contains("tokenizer.chat_template").contains("<|begin_of_text|>");
    }

    @Test
    void raiseExceptionRefusesTheConversationWithTheTemplatesMessage() {
        String llama2Check = "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
                + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
                + "{{ message['content'] }}{% endfor %}";
        JinjaChatTemplate template = new JinjaChatTemplate(llama2Check, "<s>", "</s>");
        assertThat(template.render(List.of(new ChatMessage("user", "a"), new ChatMessage("assistant", "b")), true)).isEqualTo("ab");
        assertThatThrownBy(() -> template.render(List.of(new ChatMessage("user", "a"), new ChatMessage("user", "b")), true))
                .isInstanceOfSatisfying(ChatTemplateException.class, e -> {
                    assertThat(e.raisedByTemplate()).isTrue();
                    assertThat(e.getMessage()).isEqualTo("Conversation roles must alternate user/assistant/user/assistant/...");
                });
    }

    @Test
    void aTemplateErrorIsAChatTemplateExceptionNotRaisedByTheTemplate() {
        assertThatThrownBy(() -> render("{{ messages | no_such_filter }}"))
                .isInstanceOfSatisfying(ChatTemplateException.class, e -> {
                    assertThat(e.raisedByTemplate()).isFalse();
                    assertThat(e.getMessage()).contains("no filter named 'no_such_filter'");
                });
        assertThatThrownBy(() -> new JinjaChatTemplate("{% if x %}never closed", "", ""))
                .isInstanceOf(ChatTemplateException.class).hasMessageContaining("does not parse");
    }

    @Test
    void messagesAreDataNeverTemplates() {
        JinjaChatTemplate template = new JinjaChatTemplate("{{ messages[0]['content'] }}", "", "");
        assertThat(template.render(List.of(new ChatMessage("user", "{{ 7 * 7 }}{% raw %}")), false)).isEqualTo("{{ 7 * 7 }}{% raw %}");
    }

    @Test
    void trimBlocksLstripBlocksAndOneTrailingNewlineDroppedAsTransformersRenders() {
        assertThat(render("{% for m in messages %}\n  {% if m.role == 'user' %}\n[{{ m.content }}]\n  {% endif %}\n{% endfor %}\n"))
                .isEqualTo("[Hi]\n[Bye]\n");
        assertThat(render("{{- '  x  ' -}}  \n  {{- 'y' }}\n\n")).isEqualTo("  x  y\n");
    }

    @Test
    void pythonOperatorPrecedenceSlicesAndKeywordArguments() {
        assertThat(render("{% if not add_generation_prompt is defined %}undefined{% else %}defined{% endif %}")).isEqualTo("defined");
        assertThat(render("{{ not 'a' == 'b' }}|{{ not 'a' in 'abc' }}|{{ 'z' not in 'abc' }}")).isEqualTo("true|false|true");
        assertThat(render("{% set ns = namespace(last=messages|length - 1, seen=false) %}{{ ns.last }}")).isEqualTo("3");
        assertThat(render("{% for m in messages[::-1] %}{{ m.role[0] }}{% endfor %}|{{ messages[1:3]|length }}|"
                + "{{ messages[:messages|length-1][-1].content }}|{{ 'abcdef'[1:-1:2] }}|{{ messages[-1].content }}|{{ 2+3 }}"))
                .isEqualTo("uaus|2|Hello!|bd|Bye|5");
        assertThat(render("{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}"))
                .isEqualTo("4");
    }

    @Test
    void pythonStringMethodsAndFilters() {
        assertThat(render("{{ messages[0].content.strip() }}|{{ messages[0].content|trim }}|{{ ' \\u00a0x\\n'.strip() }}|"
                + "{{ 'a</think>b'.split('</think>')[-1] }}|{{ ' a  b '.split() }}|{{ 'x\\ny'.splitlines() }}"))
                .isEqualTo("Be brief.|Be brief.|x|b|['a', 'b']|['x', 'y']");
        assertThat(render("{{ 'hello world'.title() }}|{{ 'hELLO'.capitalize() }}|{{ 'abc'.upper() }}|{{ '<x>'.startswith('<') }}"
                + "|{{ 'a.b'.endswith(('.b', '.c')) }}|{{ 'aXbXc'.replace('X', '-', 1) }}|{{ '-'.join(['a', 'b']) }}|"
                + "{{ '\\n\\nx'.lstrip('\\n') }}|{{ 'x--'.rstrip('-') }}|{{ 'abab'.count('ab') }}|{{ 'abc'.find('c') }}"))
                .isEqualTo("Hello World|Hello|ABC|true|true|a-bXc|a-b|x|x|2|2");
        assertThat(render("{{ {'b': [1, 2.5, none, true], 'a': 'é\"'} | tojson }}|{{ messages[1] | tojson(indent=2) }}"))
                .isEqualTo("{\"b\": [1, 2.5, null, true], \"a\": \"é\\\"\"}|{\n  \"role\": \"user\",\n  \"content\": \"Hi\"\n}");
        assertThat(render("{% for k, v in messages[1] | items %}{{ k }}={{ v }};{% endfor %}")).isEqualTo("role=user;content=Hi;");
        assertThat(render("{{ 'tab\\there \\x41\\u00e9 \\N{BULLET}' }}")).isEqualTo("tab\there Aé •");
        assertThat(render("{% generation %}{{ messages[2].content }}{% endgeneration %}")).isEqualTo("Hello!");
    }

    @Test
    void strftimeNowIsDefinedAndReadsTheClockInUtc() {
        Clock clock = Clock.fixed(Instant.parse("2024-07-26T21:05:09Z"), ZoneOffset.UTC);
        JinjaChatTemplate template = new JinjaChatTemplate(
                "{% if strftime_now is defined %}{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%A %B %-d %H:%M:%S %y %j %p %I %%') }}{% endif %}",
                "", "", clock);
        assertThat(template.render(CHAT, true)).isEqualTo("26 Jul 2024|Friday July %-d 21:05:09 24 208 PM 09 %");
    }

    @Test
    void oneInstanceRendersFromManyThreadsAtOnce() throws Exception {
        JinjaChatTemplate template = new JinjaChatTemplate(ChatTemplates.LLAMA3, "<|begin_of_text|>", "<|eot_id|>");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < 400; i++) {
                List<ChatMessage> chat = List.of(new ChatMessage("user", "question " + i));
                String expected = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nquestion " + i
                        + "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
                results.add(pool.submit(() -> template.render(chat, true).equals(expected)));
            }
            for (Future<Boolean> result : results) {
                assertThat(result.get()).isTrue();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** Modelled on Llama 3.1's template: tools as JSON in the first user message, calls as JSON, results as ipython. */
    private static final String LLAMA31_STYLE = """
            {{- bos_token }}
            {%- if not tools_in_user_message is defined %}
                {%- set tools_in_user_message = true %}
            {%- endif %}
            {%- if not tools is defined %}
                {%- set tools = none %}
            {%- endif %}
            {%- if messages[0]['role'] == 'system' %}
                {%- set system_message = messages[0]['content']|trim %}
                {%- set messages = messages[1:] %}
            {%- else %}
                {%- set system_message = "" %}
            {%- endif %}
            {{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
            {%- if tools is not none %}
                {{- "Environment: ipython\\n" }}
            {%- endif %}
            {{- "Cutting Knowledge Date: December 2023\\n\\n" }}
            {{- system_message }}
            {{- "<|eot_id|>" }}
            {%- if tools_in_user_message and not tools is none %}
                {%- if messages | length != 0 %}
                    {%- set first_user_message = messages[0]['content']|trim %}
                    {%- set messages = messages[1:] %}
                {%- else %}
                    {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
                {%- endif %}
                {{- '<|start_header_id|>user<|end_header_id|>\\n\\n' -}}
                {{- "Given the following functions, please respond with a JSON for a function call " }}
                {{- "with its proper arguments that best answers the given prompt.\\n\\n" }}
                {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
                {{- "Do not use variables.\\n\\n" }}
                {%- for t in tools %}
                    {{- t | tojson(indent=4) }}
                    {{- "\\n\\n" }}
                {%- endfor %}
                {{- first_user_message + "<|eot_id|>"}}
            {%- endif %}
            {%- for message in messages %}
                {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
                    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
                {%- elif 'tool_calls' in message %}
                    {%- if not message.tool_calls|length == 1 %}
                        {{- raise_exception("This model only supports single tool-calls at once!") }}
                    {%- endif %}
                    {%- set tool_call = message.tool_calls[0].function %}
                    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
                    {{- '{"name": "' + tool_call.name + '", ' }}
                    {{- '"parameters": ' }}
                    {{- tool_call.arguments | tojson }}
                    {{- "}" }}
                    {{- "<|eot_id|>" }}
                {%- elif message.role == "tool" or message.role == "ipython" %}
                    {{- "<|start_header_id|>ipython<|end_header_id|>\\n\\n" }}
                    {%- if message.content is mapping or message.content is iterable %}
                        {{- message.content | tojson }}
                    {%- else %}
                        {{- message.content }}
                    {%- endif %}
                    {{- "<|eot_id|>" }}
                {%- endif %}
            {%- endfor %}
            {%- if add_generation_prompt %}
                {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
            {%- endif %}
            """;

    private static final ChatTool WEATHER = new ChatTool("get_weather", weatherDefinition());

    private static Map<String, Object> weatherDefinition() {
        Map<String, Object> parameters = new LinkedHashMap<>();
        parameters.put("type", "object");
        parameters.put("properties", Map.of("city", Map.of("type", "string")));
        parameters.put("required", List.of("city"));
        Map<String, Object> function = new LinkedHashMap<>();
        function.put("name", "get_weather");
        function.put("description", "Current weather");
        function.put("parameters", parameters);
        Map<String, Object> tool = new LinkedHashMap<>();
        tool.put("type", "function");
        tool.put("function", function);
        return tool;
    }

    private static final List<ChatMessage> TOOL_CHAT = List.of(new ChatMessage("system", "Be brief."),
            new ChatMessage("user", "Weather in Paris?"),
            new ChatMessage("assistant", "", List.of(new ChatMessage.ToolCall("call_1", "get_weather", Map.of("city", "Paris"))),
                    null, null),
            new ChatMessage("tool", "22 C", List.of(), "call_1", null));

    @Test
    void aLlama31StyleTemplateRendersToolDefinitionsCallsAndResults() {
        JinjaChatTemplate template = new JinjaChatTemplate(LLAMA31_STYLE, "<|begin_of_text|>", "<|eot_id|>");
        // Expected text as Python's Jinja (transformers) renders the same template and context.
        assertThat(template.render(TOOL_CHAT, List.of(WEATHER), true)).isEqualTo("""
                <|begin_of_text|><|start_header_id|>system<|end_header_id|>

                Environment: ipython
                Cutting Knowledge Date: December 2023

                Be brief.<|eot_id|><|start_header_id|>user<|end_header_id|>

                Given the following functions, please respond with a JSON for a function call with its proper \
                arguments that best answers the given prompt.

                Respond in the format {"name": function name, "parameters": dictionary of argument name and its \
                value}.Do not use variables.

                {
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "description": "Current weather",
                        "parameters": {
                            "type": "object",
                            "properties": {
                                "city": {
                                    "type": "string"
                                }
                            },
                            "required": [
                                "city"
                            ]
                        }
                    }
                }

                Weather in Paris?<|eot_id|><|start_header_id|>assistant<|end_header_id|>

                {"name": "get_weather", "parameters": {"city": "Paris"}}<|eot_id|>\
                <|start_header_id|>ipython<|end_header_id|>

                "22 C"<|eot_id|><|start_header_id|>assistant<|end_header_id|>

                """);
        // No tools: the template's no-tools branch, and the same text as without the tools argument.
        assertThat(template.render(TOOL_CHAT.subList(0, 2), List.of(), true))
                .isEqualTo(template.render(TOOL_CHAT.subList(0, 2), true))
                .isEqualTo("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: "
                        + "December 2023\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWeather in "
                        + "Paris?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
        // The template's own refusal of two calls in one message is a refusal of the conversation.
        List<ChatMessage> twoCalls = List.of(new ChatMessage("user", "Weather?"), new ChatMessage("assistant", "",
                List.of(new ChatMessage.ToolCall("a", "get_weather", Map.of()), new ChatMessage.ToolCall("b", "get_weather", Map.of())),
                null, null));
        assertThatThrownBy(() -> template.render(twoCalls, List.of(WEATHER), true))
                .isInstanceOfSatisfying(ChatTemplateException.class, e -> assertThat(e.raisedByTemplate()).isTrue())
                .hasMessage("This model only supports single tool-calls at once!");
    }

    @Test
    void messagesHaveToolFieldsOnlyWhenTheyCarryThemAndIsIterableIsPythons() {
        JinjaChatTemplate template = new JinjaChatTemplate("{% for m in messages %}{{ m.role }}:{{ 'tool_calls' in m }}"
                + "{% if m.tool_calls %},{{ m.tool_calls[0].id }},{{ m.tool_calls[0].type }},{{ m.tool_calls[0].function.name }},"
                + "{{ m.tool_calls[0].function.arguments | tojson }}{% endif %},{{ m.tool_call_id }},{{ m.name }},"
                + "{{ m | length }};{% endfor %}|{{ tools | length }}|{{ tools[0].function.name }}", "", "");
        List<ChatMessage> chat = List.of(new ChatMessage("user", "Hi"), TOOL_CHAT.get(2),
                new ChatMessage("tool", "22 C", List.of(), "call_1", "get_weather"));
        assertThat(template.render(chat, List.of(WEATHER), false)).isEqualTo("user:false,,,2;"
                + "assistant:true,call_1,function,get_weather,{\"city\": \"Paris\"},,,3;tool:false,call_1,get_weather,4;|1|get_weather");
        JinjaChatTemplate iterable = new JinjaChatTemplate("{{ 'text' is iterable }},{{ messages is iterable }},"
                + "{{ messages[0] is iterable }},{{ 7 is iterable }},{{ none is iterable }},{{ 'text' is not iterable }}", "", "");
        assertThat(iterable.render(CHAT, false)).isEqualTo("true,true,true,false,false,false");
    }
}
