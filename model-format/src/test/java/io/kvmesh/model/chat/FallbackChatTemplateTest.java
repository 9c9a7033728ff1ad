package io.kvmesh.model.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

class FallbackChatTemplateTest {

    @Test
    void rendersRolesAndPromptsTheAssistant() {
        assertThat(FallbackChatTemplate.render(List.of(new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hi"))))
                .isEqualTo("<|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\n");
    }

    @Test
    void aLaterTurnExtendsTheEarlierPromptUpToTheAssistantTag() {
        String first = FallbackChatTemplate.render(List.of(new ChatMessage("user", "Hi")));
        String second = FallbackChatTemplate.render(List.of(new ChatMessage("user", "Hi"),
                new ChatMessage("assistant", "Hello"), new ChatMessage("user", "More")));
        assertThat(second).startsWith(first);
    }
}
