package io.kvmesh.model.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.kvmesh.model.NodeReference;

class GgufWriterTest {

    @Test
    void writtenFilesReadBackHereAndInAnIndependentParser(@TempDir Path dir) throws Exception {
        byte[] q8 = new byte[2 * 34];
        byte[] f32 = new byte[3 * 4];
        q8[0] = 0x00;
        q8[1] = 0x3C; // scale 1.0 in half precision
        q8[2] = 5;
        Path file = dir.resolve("written.gguf");
        new GgufWriter()
                .put("general.architecture", GgufValue.string("llama"))
                .put("general.name", GgufValue.string("written by kvmesh ✓"))
                .put("llama.block_count", GgufValue.uint32(3))
                .put("llama.attention.layer_norm_rms_epsilon", GgufValue.float32(1e-5f))
                .put("some.flag", GgufValue.bool(true))
                .put("tokenizer.ggml.tokens", GgufValue.strings(new String[] {"<unk>", "▁hello", "<0x0A>"}))
                .put("tokenizer.ggml.scores", GgufValue.floats(new float[] {0f, -1.5f, -2f}))
                .put("tokenizer.ggml.token_type", GgufValue.int32s(new long[] {2, 1, 6}))
                .add(new GgufWriter.Tensor("a.weight", new long[] {32, 2}, GgmlType.Q8_0, q8))
                .add(new GgufWriter.Tensor("b.weight", new long[] {3}, GgmlType.F32, f32))
                .write(file);

        try (GgufFile gguf = GgufFile.open(file)) {
            assertThat(gguf.string("general.name")).isEqualTo("written by kvmesh ✓");
            assertThat(gguf.integer("llama.block_count")).isEqualTo(3);
            assertThat(gguf.strings("tokenizer.ggml.tokens")).containsExactly("<unk>", "▁hello", "<0x0A>");
            assertThat(gguf.floats("tokenizer.ggml.scores")).containsExactly(0f, -1.5f, -2f);
            assertThat(gguf.integers("tokenizer.ggml.token_type")).containsExactly(2, 1, 6);
            assertThat(gguf.tensor("a.weight").type()).isEqualTo(GgmlType.Q8_0);
            assertThat(gguf.tensorData(gguf.tensor("a.weight")).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).isEqualTo(q8);
            assertThat(gguf.tensor("b.weight").fileOffset() % 32).isZero();
        }

        JsonNode reference = new ObjectMapper().readTree(NodeReference.run("gguf-dump.mjs", "", file.toString()));
        assertThat(reference.at("/metadata/general.name").asText()).isEqualTo("written by kvmesh ✓");
        assertThat(reference.at("/metadata/llama.block_count").asInt()).isEqualTo(3);
        assertThat(reference.at("/metadata/some.flag").asBoolean()).isTrue();
        assertThat(reference.at("/metadata/tokenizer.ggml.tokens/1").asText()).isEqualTo("▁hello");
        assertThat(reference.at("/metadata/tokenizer.ggml.scores/1").asDouble()).isEqualTo(-1.5);
        assertThat(reference.at("/tensors/0/name").asText()).isEqualTo("a.weight");
        assertThat(reference.at("/tensors/0/dtype").asInt()).isEqualTo(8);
        assertThat(reference.at("/tensors/1/offset").asLong()).isEqualTo(96);
        assertThat(Files.size(file)).isGreaterThan(96 + 12);
    }
}
