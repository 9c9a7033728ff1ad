package io.kvmesh.openai;

import io.kvmesh.model.chat.FallbackChatTemplate;
import io.kvmesh.model.tokenizer.Tokenizer;

/** The prompt's token ids exactly as the pod computes them; the router uses the same to hash blocks. */
public final class PromptEncoder {

    private PromptEncoder() {
    }

    public static int[] tokens(InferenceRequest request, Tokenizer tokenizer) {
        if (request.promptTokens() != null) {
            return request.promptTokens().clone();
        }
        String text = request.kind() == InferenceRequest.Kind.CHAT
                ? FallbackChatTemplate.render(request.messages())
                : request.prompt();
        return tokenizer.encode(text, true);
    }
}
