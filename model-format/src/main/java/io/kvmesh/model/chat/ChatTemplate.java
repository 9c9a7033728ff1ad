package io.kvmesh.model.chat;

import java.util.List;

/**
 * Turns a conversation into the prompt text a model was trained on. Implementations are immutable and safe to use
 * from many threads at once: the router and every pod render the same request to the same text.
 */
public interface ChatTemplate {

    /**
     * The prompt for {@code messages}; with {@code addGenerationPrompt} it ends with the header that opens the
     * assistant's answer.
     *
     * @throws ChatTemplateException when the template refuses the conversation ({@code raise_exception}) or fails
     */
    default String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages, List.of(), addGenerationPrompt);
    }

    /**
     * The prompt for {@code messages} with the {@code tools} the model may call (none when empty): their definitions
     * are written where the template puts them, and tool calls and results in the history as the template writes
     * them. The same arguments always give the same text.
     *
     * @throws ChatTemplateException when the template refuses the conversation ({@code raise_exception}) or fails
     */
    String render(List<ChatMessage> messages, List<ChatTool> tools, boolean addGenerationPrompt);

    /**
     * Whether the rendered text is tokenized with special-token parsing: control tokens written by the template
     * ({@code <|start_header_id|>}, {@code <s>}, …) become their ids, as llama.cpp does for chat templates. The
     * fallback format keeps them as plain text.
     */
    boolean parsesSpecialTokens();

    /** Which template this is and why it was chosen, for one log line at startup. */
    String description();
}
