package io.kvmesh.openai;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.kvmesh.model.chat.ChatTool;
import io.kvmesh.openai.ToolCallParser.Prefix;

/** Tool calls in a model's answer, read as vLLM's llama3_json parser reads them. */
class ToolCallParserTest {

    private static ChatTool tool(String name) {
        return new ChatTool(name, Map.of("type", "function", "function", Map.of("name", name)));
    }

    private final ToolCallParser parser = new ToolCallParser(List.of(tool("get_weather"), tool("web.search")));

    @Test
    void aJsonObjectNamingAToolWithItsParametersIsACall() {
        List<ToolCall> calls = parser.parse("{\"name\": \"get_weather\", \"parameters\": {\"city\":\"Paris\",\"days\":[1,2]}}");
        assertThat(calls).hasSize(1);
        assertThat(calls.getFirst().name()).isEqualTo("get_weather");
        // As vLLM returns them: json.dumps of the object, Python's separators.
        assertThat(calls.getFirst().arguments()).isEqualTo("{\"city\": \"Paris\", \"days\": [1, 2]}");
        assertThat(calls.getFirst().id()).matches("call_[A-Za-z0-9]{24}");
        assertThat(parser.parse("{\"name\": \"get_weather\", \"parameters\": {}}").getFirst().id())
                .as("a new id for every call").isNotEqualTo(calls.getFirst().id());
    }

    @Test
    void pythonTagLeadingWhitespaceArgumentsAndSeveralCalls() {
        assertThat(parser.parse(" \n<|python_tag|>{\"name\": \"web.search\", \"parameters\": {\"q\": \"café\"}}\n"))
                .singleElement().satisfies(call -> {
                    assertThat(call.name()).isEqualTo("web.search");
                    assertThat(call.arguments()).isEqualTo("{\"q\": \"café\"}");
                });
        // "arguments" instead of "parameters"; when both are there, "arguments" wins (as in vLLM).
        assertThat(parser.parse("{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Oslo\"}}").getFirst().arguments())
                .isEqualTo("{\"city\": \"Oslo\"}");
        assertThat(parser.parse("{\"name\":\"get_weather\",\"parameters\":{\"a\":1},\"arguments\":{\"b\":2}}").getFirst().arguments())
                .isEqualTo("{\"b\": 2}");
        List<ToolCall> two = parser.parse("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}; "
                + "{\"name\": \"web.search\", \"parameters\": {\"q\": \"{;} 🦙\"}};");
        assertThat(two).extracting(ToolCall::name).containsExactly("get_weather", "web.search");
        assertThat(two.get(1).arguments()).isEqualTo("{\"q\": \"{;} 🦙\"}");
        assertThat(two.get(0).id()).isNotEqualTo(two.get(1).id());
    }

    @Test
    void anythingElseIsText() {
        // A tool the request does not offer.
        assertThat(parser.parse("{\"name\": \"delete_everything\", \"parameters\": {}}")).isEmpty();
        // Broken or cut-off JSON (max_tokens ran out).
        assertThat(parser.parse("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Par")).isEmpty();
        assertThat(parser.parse("{\"name\": \"get_weather\", \"parameters\": {\"city\": Paris}}")).isEmpty();
        // No arguments object, or no name.
        assertThat(parser.parse("{\"name\": \"get_weather\"}")).isEmpty();
        assertThat(parser.parse("{\"name\": \"get_weather\", \"parameters\": \"Paris\"}")).isEmpty();
        assertThat(parser.parse("{\"parameters\": {}}")).isEmpty();
        assertThat(parser.parse("{\"name\": 7, \"parameters\": {}}")).isEmpty();
        // Text around a call, or one bad call among several.
        assertThat(parser.parse("Sure: {\"name\": \"get_weather\", \"parameters\": {}}")).isEmpty();
        assertThat(parser.parse("{\"name\": \"get_weather\", \"parameters\": {}} is what I would call")).isEmpty();
        assertThat(parser.parse("{\"name\": \"get_weather\", \"parameters\": {}}; {\"name\": \"nope\", \"parameters\": {}}")).isEmpty();
        // Plain text, and nothing at all.
        assertThat(parser.parse("It is sunny in Paris.")).isEmpty();
        assertThat(parser.parse("")).isEmpty();
        assertThat(parser.parse("<|python_tag|>")).isEmpty();
        assertThat(parser.parse("[{\"name\": \"get_weather\", \"parameters\": {}}]")).isEmpty();
    }

    @Test
    void theStartOfAnAnswerSaysWhetherItMayStillBeACall() {
        assertThat(parser.classify("")).isEqualTo(Prefix.UNDECIDED);
        assertThat(parser.classify(" \n")).isEqualTo(Prefix.UNDECIDED);
        assertThat(parser.classify(" <|pyth")).isEqualTo(Prefix.UNDECIDED);
        assertThat(parser.classify("{")).isEqualTo(Prefix.MAY_BE_CALL);
        assertThat(parser.classify("  {\"name\": \"x")).isEqualTo(Prefix.MAY_BE_CALL);
        assertThat(parser.classify("<|python_tag|>")).isEqualTo(Prefix.MAY_BE_CALL);
        assertThat(parser.classify("<|python_tag|>whatever")).isEqualTo(Prefix.MAY_BE_CALL);
        assertThat(parser.classify("Sure")).isEqualTo(Prefix.TEXT);
        assertThat(parser.classify(" <|eot")).isEqualTo(Prefix.TEXT);
        assertThat(parser.classify("[{")).isEqualTo(Prefix.TEXT);
    }
}
