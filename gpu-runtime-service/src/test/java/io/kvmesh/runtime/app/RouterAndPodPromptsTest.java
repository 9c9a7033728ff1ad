package io.kvmesh.runtime.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kvmesh.model.chat.JinjaChatTemplate;
import io.kvmesh.model.gen.ModelGenerator;
import io.kvmesh.model.gen.ModelShape;
import io.kvmesh.model.gguf.GgmlType;
import io.kvmesh.model.gguf.GgufFile;
import io.kvmesh.openai.InferenceRequest;
import io.kvmesh.openai.InferenceRequestParser;
import io.kvmesh.openai.PromptEncoder;
import io.kvmesh.openai.PromptFormat;
import io.kvmesh.runtime.model.LlamaModel;

/**
 * The router picks the pod holding a prompt's cached blocks by hashing the prompt's token ids, so the pod must compute
 * exactly the router's ids. The router's prompt format is {@code PromptFormat.fromGguf} of the model file (its
 * {@code RouterState}); the pod's is the loaded model's tokenizer with the file's chat template.
 */
class RouterAndPodPromptsTest {

    private static final List<String> CHATS = List.of(
            "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}]}",
            "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                    + "{\"role\":\"user\",\"content\":\"Grüße 🦙, what is 2+2? <|eot_id|>\"},"
                    + "{\"role\":\"assistant\",\"content\":\" Four. \"},{\"role\":\"user\",\"content\":\"And 3+3?\"}]}");

    @Test
    void routerAndPodComputeTheSameTokenIdsForChatRequestsOnAGeneratedModel(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tiny.gguf");
        ModelGenerator.write(ModelShape.preset("tiny"), GgmlType.F16, 3, file);
        PromptFormat router;
        try (GgufFile gguf = GgufFile.open(file)) {
            router = PromptFormat.fromGguf(gguf);
        }
        try (LlamaModel model = LlamaModel.load(file)) {
            PromptFormat pod = RuntimePod.promptFormat(model, file);
            assertThat(pod.chatTemplate()).isInstanceOf(JinjaChatTemplate.class);
            assertThat(router.chatTemplate().description()).isEqualTo(pod.chatTemplate().description());
            InferenceRequestParser parser = new InferenceRequestParser();
            for (String chat : CHATS) {
                InferenceRequest request = parser.parse(InferenceRequest.Kind.CHAT, chat.getBytes(StandardCharsets.UTF_8));
                int[] podIds = PromptEncoder.tokens(request, pod);
                assertThat(podIds).isEqualTo(PromptEncoder.tokens(request, router));
                int startHeader = model.tokenizer().bosId() + 6;
                assertThat(Arrays.stream(podIds).filter(id -> id == startHeader).count()).isEqualTo(request.messages().size() + 1);
            }
        }
    }
}
