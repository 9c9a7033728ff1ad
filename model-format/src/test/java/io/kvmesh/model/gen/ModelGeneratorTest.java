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

    /** Llama 3 scaling is written as llama.cpp's converter writes it: a rope_freqs tensor of per-frequency divisors. */
    @Test
    void llama3RopeScalingIsWrittenAsFrequencyFactors(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("scaled.gguf");
        ModelGenerator.write(ModelShape.preset("tiny").withRopeScaling(RopeScaling.parse("llama3:32")), GgmlType.F16, 7, file);
        try (GgufFile gguf = GgufFile.open(file)) {
            var info = gguf.tensor("rope_freqs.weight");
            assertThat(info.dims()).containsExactly(ModelShape.preset("tiny").headDim() / 2);
            java.nio.ByteBuffer bytes = gguf.tensorData(info).asByteBuffer().order(java.nio.ByteOrder.LITTLE_ENDIAN);
            float[] factors = new float[(int) info.dims()[0]];
            for (int i = 0; i < factors.length; i++) {
                factors[i] = bytes.getFloat();
            }
            // tiny: head 16, theta 500000. Frequency i = theta^(-2i/16); its wavelength 2π/frequency against the
            // original context 8192: below 8192/4 unchanged, above 8192/1 divided by 32, blended between.
            assertThat(factors[0]).isEqualTo(1f);
            assertThat(factors[1]).isEqualTo(1f);
            assertThat(factors[3]).isEqualTo(1f);
            assertThat(factors[4]).isStrictlyBetween(1f, 32f);
            assertThat(factors[5]).isEqualTo(32f);
            assertThat(factors[factors.length - 1]).isEqualTo(32f);
            for (int i = 1; i < factors.length; i++) {
                assertThat(factors[i]).isGreaterThanOrEqualTo(factors[i - 1]);
            }
            assertThat(gguf.has("llama.rope.scaling.type")).isFalse();
        }
        Path linear = dir.resolve("linear.gguf");
        ModelGenerator.write(ModelShape.preset("tiny").withRopeScaling(RopeScaling.parse("linear:4")), GgmlType.F16, 7, linear);
        try (GgufFile gguf = GgufFile.open(linear)) {
            assertThat(gguf.string("llama.rope.scaling.type")).isEqualTo("linear");
            assertThat(gguf.float32("llama.rope.scaling.factor")).isEqualTo(4f);
            assertThat(gguf.tensors()).noneMatch(t -> t.name().equals("rope_freqs.weight"));
        }
    }

    @Test
    void ropeScalingOptionsAreParsedOrRefusedByName() {
        assertThat(RopeScaling.parse("none")).isEqualTo(RopeScaling.NONE);
        assertThat(RopeScaling.parse("llama3")).isEqualTo(RopeScaling.llama3(32));
        assertThat(RopeScaling.parse("LINEAR:2.5")).isEqualTo(RopeScaling.linear(2.5f));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> RopeScaling.parse("yarn:4"))
                .hasMessageContaining("none, linear:FACTOR or llama3[:FACTOR]");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> RopeScaling.parse("linear:0"))
                .hasMessageContaining("positive");
    }
}
