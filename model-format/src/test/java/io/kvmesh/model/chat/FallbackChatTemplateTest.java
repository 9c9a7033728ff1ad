package io.kvmesh.model.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

class FallbackChatTemplateTest {

    private final FallbackChatTemplate fallback = new FallbackChatTemplate("the model has no tokenizer.chat_template");

    @Test
    void rendersRolesAndPromptsTheAssistant() {
        assertThat(fallback.render(List.of(new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hi")), true))
                .isEqualTo("<|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\n");
        assertThat(fallback.render(List.of(new ChatMessage("user", "Hi")), false)).isEqualTo("<|user|>\nHi\n");
    }

    @Test
    void aLaterTurnExtendsTheEarlierPromptUpToTheAssistantTag() {
        String first = fallback.render(List.of(new ChatMessage("user", "Hi")), true);
        String second = fallback.render(List.of(new ChatMessage("user", "Hi"),
                new ChatMessage("assistant", "Hello"), new ChatMessage("user", "More")), true);
        assertThat(second).startsWith(first);
    }

    @Test
    void keepsSpecialTokensAsPlainTextAndSaysWhyItIsUsed() {
        assertThat(fallback.parsesSpecialTokens()).isFalse();
        assertThat(fallback.description()).startsWith("fallback chat format").endsWith("the model has no tokenizer.chat_template");
    }
}
