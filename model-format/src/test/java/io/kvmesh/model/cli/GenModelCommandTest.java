package io.kvmesh.model.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kvmesh.model.chat.ChatTemplates;
import io.kvmesh.model.chat.FallbackChatTemplate;
import io.kvmesh.model.gguf.GgufFile;

class GenModelCommandTest {

    @Test
    void noChatTemplateLeavesTheTemplateOutAndServersFallBack(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("plain.gguf");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int exit = GenModelCommand.run(new String[] {"--preset", "tiny", "--type", "F16", "--no-chat-template", "--out", file.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8), System.err);
        assertThat(exit).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("no chat template");
        try (GgufFile gguf = GgufFile.open(file)) {
            assertThat(gguf.has(ChatTemplates.KEY)).isFalse();
            assertThat(gguf.has("tokenizer.ggml.eot_token_id")).isTrue();
            assertThat(ChatTemplates.fromGguf(gguf)).isInstanceOf(FallbackChatTemplate.class);
        }
        assertThat(GenModelCommand.USAGE).contains("[--no-chat-template]");
    }
}
