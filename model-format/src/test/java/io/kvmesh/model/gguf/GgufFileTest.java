package io.kvmesh.model.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.kvmesh.model.NodeReference;

class GgufFileTest {

    /** The third-party fixture: a Llama-2-architecture GGUF written by llama.cpp's tooling (ollama's test data). */
    static final Path FIXTURE = Path.of("../../shared/fixtures/llama-2-tiny-random.gguf").toAbsolutePath().normalize();

    @Test
    void readsTheThirdPartyLlamaFile() throws Exception {
        try (GgufFile gguf = GgufFile.open(FIXTURE)) {
            assertThat(gguf.version()).isEqualTo(3);
            assertThat(gguf.string("general.architecture")).isEqualTo("llama");
            assertThat(gguf.integer("llama.embedding_length")).isEqualTo(8);
            assertThat(gguf.integer("llama.block_count")).isEqualTo(1);
            assertThat(gguf.float32("llama.attention.layer_norm_rms_epsilon")).isEqualTo(1e-5f);
            assertThat(gguf.strings("tokenizer.ggml.tokens")).hasSize(32000).startsWith("<unk>", "<s>", "</s>", "<0x00>");
            assertThat(gguf.tensors()).hasSize(12);
            GgufTensorInfo embedding = gguf.tensor("token_embd.weight");
            assertThat(embedding.dims()).containsExactly(8, 32000);
            assertThat(embedding.type()).isEqualTo(GgmlType.F16);
            assertThat(gguf.tensorData(embedding).byteSize()).isEqualTo(8L * 32000 * 2);
        }
    }

    @Test
    void agreesWithAnIndependentParser() throws Exception {
        JsonNode reference = new ObjectMapper().readTree(NodeReference.run("gguf-dump.mjs", "", FIXTURE.toString()));
        try (GgufFile gguf = GgufFile.open(FIXTURE)) {
            JsonNode metadata = reference.get("metadata");
            int compared = 0;
            for (var entry : gguf.metadata().entrySet()) {
                JsonNode expected = metadata.get(entry.getKey());
                assertThat(expected).as(entry.getKey()).isNotNull();
                Object value = entry.getValue().value();
                switch (value) {
                    case String s -> assertThat(s).as(entry.getKey()).isEqualTo(expected.asText());
                    case Long l -> assertThat(l).as(entry.getKey()).isEqualTo(expected.asLong());
                    case Float f -> assertThat(f).as(entry.getKey()).isEqualTo((float) expected.asDouble());
                    case String[] strings -> {
                        assertThat(strings).hasSize(expected.size());
                        for (int i = 0; i < strings.length; i++) {
                            // The reference decodes with JavaScript's TextDecoder, which drops a leading U+FEFF
                            // (Llama's vocabulary has that token); the file holds its bytes, and so do we.
                            String ours = strings[i].startsWith("\uFEFF") ? strings[i].substring(1) : strings[i];
                            assertThat(ours).as(entry.getKey() + "[" + i + "]").isEqualTo(expected.get(i).asText());
                        }
                    }
                    case float[] floats -> {
                        assertThat(floats).hasSize(expected.size());
                        for (int i = 0; i < floats.length; i++) {
                            assertThat(floats[i]).as(entry.getKey() + "[" + i + "]").isEqualTo((float) expected.get(i).asDouble());
                        }
                    }
                    case long[] longs -> {
                        assertThat(longs).hasSize(expected.size());
                        for (int i = 0; i < longs.length; i++) {
                            assertThat(longs[i]).as(entry.getKey() + "[" + i + "]").isEqualTo(expected.get(i).asLong());
                        }
                    }
                    default -> throw new AssertionError("unexpected value type in fixture: " + value.getClass());
                }
                compared++;
            }
            assertThat(compared).isEqualTo(18);
            JsonNode tensors = reference.get("tensors");
            assertThat(tensors.size()).isEqualTo(gguf.tensors().size());
            for (int i = 0; i < tensors.size(); i++) {
                GgufTensorInfo info = gguf.tensors().get(i);
                JsonNode expected = tensors.get(i);
                assertThat(info.name()).isEqualTo(expected.get("name").asText());
                assertThat(info.type().id()).as(info.name()).isEqualTo(expected.get("dtype").asInt());
                assertThat(info.relativeOffset()).as(info.name()).isEqualTo(expected.get("offset").asLong());
                assertThat(Arrays.stream(info.dims()).boxed().toList()).as(info.name())
                        .isEqualTo(java.util.stream.StreamSupport.stream(expected.get("shape").spliterator(), false).map(JsonNode::asLong).toList());
            }
        }
    }

    @Test
    void aTruncatedFileNamesWhereItEnds() throws Exception {
        byte[] whole = Files.readAllBytes(FIXTURE);
        for (int length : new int[] {0, 10, 30, 200_000, whole.length - 1}) {
            byte[] cut = Arrays.copyOf(whole, length);
            assertThatThrownBy(() -> GgufFile.of(cut))
                    .as("cut at %d", length)
                    .isInstanceOf(GgufFormatException.class)
                    .hasMessageContaining("at byte offset")
                    .satisfies(e -> assertThat(e.getMessage()).containsAnyOf("truncated", "too short"));
        }
    }

    @Test
    void notGgufAndUnknownTensorTypesAreNamed() throws Exception {
        assertThatThrownBy(() -> GgufFile.of("this is not a model file at all".getBytes()))
                .hasMessageContaining("not a GGUF file");
        byte[] bytes = Files.readAllBytes(FIXTURE);
        GgufTensorInfo last;
        long typeOffset;
        try (GgufFile gguf = GgufFile.open(FIXTURE)) {
            last = gguf.tensors().getLast();
            // The last tensor's type field sits 12 bytes before the data section's padding: type (4) + offset (8).
            typeOffset = headerEnd(bytes) - 12;
        }
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt((int) typeOffset, 99);
        assertThatThrownBy(() -> GgufFile.of(bytes))
                .isInstanceOfSatisfying(GgufFormatException.class, e -> {
                    assertThat(e.field()).isEqualTo(last.name());
                    assertThat(e.offset()).isEqualTo(typeOffset);
                })
                .hasMessageContaining("unknown ggml tensor type id 99");
    }

    @Test
    void wrongMetadataTypesNameTheKey() throws Exception {
        try (GgufFile gguf = GgufFile.open(FIXTURE)) {
            assertThatThrownBy(() -> gguf.string("llama.block_count")).hasMessageContaining("llama.block_count").hasMessageContaining("expected STRING");
            assertThatThrownBy(() -> gguf.integer("no.such.key")).hasMessageContaining("no.such.key").hasMessageContaining("missing");
            assertThatThrownBy(() -> gguf.tensor("blk.9.attn_q.weight")).hasMessageContaining("blk.9.attn_q.weight");
        }
    }

    /** End of the tensor directory: reparse lengths up to it. */
    private static long headerEnd(byte[] bytes) {
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        in.position(8);
        long tensors = in.getLong();
        long kvs = in.getLong();
        for (long i = 0; i < kvs; i++) {
            skipString(in);
            skipValue(in, in.getInt());
        }
        for (long i = 0; i < tensors; i++) {
            skipString(in);
            int dims = in.getInt();
            in.position(in.position() + 8 * dims + 4 + 8);
        }
        return in.position();
    }

    private static void skipString(ByteBuffer in) {
        long length = in.getLong();
        in.position((int) (in.position() + length));
    }

    private static void skipValue(ByteBuffer in, int type) {
        switch (type) {
            case 0, 1, 7 -> in.position(in.position() + 1);
            case 2, 3 -> in.position(in.position() + 2);
            case 4, 5, 6 -> in.position(in.position() + 4);
            case 10, 11, 12 -> in.position(in.position() + 8);
            case 8 -> skipString(in);
            case 9 -> {
                int element = in.getInt();
                long count = in.getLong();
                for (long i = 0; i < count; i++) {
                    skipValue(in, element);
                }
            }
            default -> throw new IllegalStateException("type " + type);
        }
    }
}
