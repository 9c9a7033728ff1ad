package io.kvmesh.router.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kvmesh.model.chat.FallbackChatTemplate;
import io.kvmesh.model.chat.JinjaChatTemplate;
import io.kvmesh.model.gen.ModelGenerator;
import io.kvmesh.model.gen.ModelShape;
import io.kvmesh.model.gguf.GgmlType;
import io.kvmesh.openai.PromptFormat;

/** The router reads the model file's tokenizer and chat template, as the pods serving that file do. */
class RouterPromptFormatTest {

    @Test
    void theModelFilesChatTemplateOrTheFallback(@TempDir Path dir) throws Exception {
        Path chat = dir.resolve("chat.gguf");
        ModelGenerator.write(ModelShape.preset("tiny"), GgmlType.F16, 5, chat);
        PromptFormat format = RouterState.promptFormatOf(chat.toString());
        assertThat(format.chatTemplate()).isInstanceOf(JinjaChatTemplate.class);
        assertThat(format.tokenizer().vocabularySize()).isEqualTo(ModelShape.preset("tiny").vocabularySize());

        Path plain = dir.resolve("plain.gguf");
        ModelGenerator.write(ModelShape.preset("tiny"), GgmlType.F16, 5, plain, false);
        assertThat(RouterState.promptFormatOf(plain.toString()).chatTemplate()).isInstanceOf(FallbackChatTemplate.class);

        assertThatThrownBy(() -> RouterState.promptFormatOf(dir.resolve("missing.gguf").toString()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cannot be read");
    }
}
