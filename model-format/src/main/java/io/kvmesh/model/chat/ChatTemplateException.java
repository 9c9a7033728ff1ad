package io.kvmesh.model.chat;

/**
 * A chat template did not render a conversation: it refused it with {@code raise_exception(message)} (Llama 2's
 * "Conversation roles must alternate user/assistant/user/assistant/...") or failed while rendering it. Either way the
 * conversation is what the template cannot take, so the API answers 400 with this message.
 */
public final class ChatTemplateException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final boolean raisedByTemplate;

    public ChatTemplateException(String message, boolean raisedByTemplate) {
        super(message, null, false, false);
        this.raisedByTemplate = raisedByTemplate;
    }

    /** True when the template itself called {@code raise_exception}; the message is then the template's own. */
    public boolean raisedByTemplate() {
        return raisedByTemplate;
    }
}
