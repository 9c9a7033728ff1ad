package io.kvmesh.model.gen;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kvmesh.model.chat.ChatMessage;
import io.kvmesh.model.chat.ChatTemplate;
import io.kvmesh.model.chat.ChatTemplates;
import io.kvmesh.model.chat.JinjaChatTemplate;
import io.kvmesh.model.gguf.GgmlType;
import io.kvmesh.model.gguf.GgufFile;
import io.kvmesh.model.tokenizer.Tokenizer;
import io.kvmesh.model.tokenizer.Tokenizers;

/** Generated models are Llama 3 chat models: chat tokens, the chat template, and <|eot_id|> ending a turn. */
class ModelGeneratorTest {

    @Test
    void aGeneratedModelChatsInLlama3sFormat(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tiny.gguf");
        ModelGenerator.write(ModelShape.preset("tiny"), GgmlType.F16, 7, file);
        try (GgufFile gguf = GgufFile.open(file)) {
            assertThat(gguf.string(ChatTemplates.KEY)).isEqualTo(ChatTemplates.LLAMA3);
            int bos = (int) gguf.integer("tokenizer.ggml.bos_token_id");
            int eos = (int) gguf.integer("tokenizer.ggml.eos_token_id");
            int eot = (int) gguf.integer("tokenizer.ggml.eot_token_id");
            String[] tokens = gguf.strings("tokenizer.ggml.tokens");
            assertThat(tokens[bos]).isEqualTo("<|begin_of_text|>");
            assertThat(tokens[eos]).isEqualTo("<|end_of_text|>");
            assertThat(tokens[eot]).isEqualTo("<|eot_id|>");
            assertThat(eot).isEqualTo(bos + 9);
            assertThat(tokens[bos + 6]).isEqualTo("<|start_header_id|>");
            assertThat(tokens[bos + 7]).isEqualTo("<|end_header_id|>");

            Tokenizer tokenizer = Tokenizers.fromGguf(gguf);
            assertThat(tokenizer.isEndOfGeneration(eot)).isTrue();
            assertThat(tokenizer.isEndOfGeneration(eos)).isTrue();
            ChatTemplate template = ChatTemplates.fromGguf(gguf);
            assertThat(template).isInstanceOf(JinjaChatTemplate.class);
            int[] ids = tokenizer.encode(template.render(List.of(new ChatMessage("user", "Hi")), true), true,
                    template.parsesSpecialTokens());
            assertThat(ids).startsWith(bos, bos + 6).endsWith(bos + 6, tokenizer.encode("assistant", false)[0], bos + 7,
                    tokenizer.encode("\n\n", false)[0]);
            assertThat(ids).containsOnlyOnce(bos);
        }
    }
}
