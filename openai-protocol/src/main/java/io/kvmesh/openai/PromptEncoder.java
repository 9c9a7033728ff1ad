package io.kvmesh.openai;

import io.kvmesh.model.chat.ChatTemplate;
import io.kvmesh.model.chat.ChatTemplateException;

/**
 * The prompt's token ids exactly as the pod computes them; the router uses the same to hash blocks. A completion
 * prompt is tokenized as it is, BOS first, special tokens as plain text. A chat is rendered by the model's chat
 * template (with the generation prompt and the request's tools) and tokenized as llama.cpp tokenizes template
 * output: special tokens the template writes become their ids, BOS first unless the template already wrote it (the
 * fallback format keeps special tokens as plain text). Token-id prompts are used as given.
 */
public final class PromptEncoder {

    private PromptEncoder() {
    }

    /**
     * @throws OpenAiException a 400 naming the template's message when the chat template refuses the conversation, or
     *                         naming the id when a token-id prompt holds one outside the vocabulary
     */
    public static int[] tokens(InferenceRequest request, PromptFormat format) {
        if (request.promptTokens() != null) {
            int vocabulary = format.tokenizer().vocabularySize();
            for (int id : request.promptTokens()) {
                if (id >= vocabulary) {
                    throw new OpenAiException(OpenAiError.invalidRequest("Token id " + id
                            + " is out of vocabulary (the model has " + vocabulary + " tokens).", "prompt"));
                }
            }
            return request.promptTokens().clone();
        }
        if (request.kind() != InferenceRequest.Kind.CHAT) {
            return format.tokenizer().encode(request.prompt(), true);
        }
        ChatTemplate template = format.chatTemplate();
        String text;
        try {
            text = template.render(request.messages(), request.tools(), true);
        } catch (ChatTemplateException e) {
            throw new OpenAiException(OpenAiError.invalidRequest(e.getMessage(), "messages"));
        }
        return format.tokenizer().encode(text, true, template.parsesSpecialTokens());
    }
}
