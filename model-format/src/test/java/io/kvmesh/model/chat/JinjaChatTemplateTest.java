package io.kvmesh.model.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
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
}
