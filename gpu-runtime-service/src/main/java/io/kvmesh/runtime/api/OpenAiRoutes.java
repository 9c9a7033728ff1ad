package io.kvmesh.runtime.api;

import java.util.List;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.kvmesh.openai.CompletionJson;
import io.kvmesh.openai.InferenceRequest;
import io.kvmesh.openai.InferenceRequestParser;
import io.kvmesh.openai.OpenAiError;
import io.kvmesh.openai.OpenAiException;
import io.kvmesh.openai.PromptEncoder;
import io.kvmesh.openai.ToolCall;
import io.kvmesh.openai.ToolCallParser;
import io.kvmesh.openai.Usage;
import io.kvmesh.openai.vertx.ErrorResponses;
import io.kvmesh.model.tokenizer.StreamingDecoder;
import io.kvmesh.runtime.app.RuntimePod;
import io.kvmesh.runtime.engine.Engine;
import io.kvmesh.runtime.engine.FinishReason;
import io.kvmesh.runtime.engine.GenerationRequest;
import io.kvmesh.runtime.engine.SamplingParams;
import io.kvmesh.runtime.engine.TokenSink;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * The pod's OpenAI-compatible API: {@code POST /v1/completions}, {@code POST /v1/chat/completions} (both streaming as
 * server-sent events ending in {@code data: [DONE]} when {@code stream} is true) and {@code GET /v1/models}. A thin
 * adapter: parsing is {@link InferenceRequestParser}'s, serving the {@link Engine}'s. Every refusal is an OpenAI-style
 * JSON error.
 */
@ApplicationScoped
public class OpenAiRoutes {

    private final RuntimePod pod;
    private final InferenceRequestParser parser = new InferenceRequestParser();

    OpenAiRoutes(RuntimePod pod) {
        this.pod = pod;
    }

    void install(@Observes Router router) {
        router.route("/v1/*").handler(BodyHandler.create(false).setBodyLimit(pod.maxBodyBytes()));
        router.post("/v1/completions").handler(ctx -> serve(ctx, InferenceRequest.Kind.COMPLETION));
        router.post("/v1/chat/completions").handler(ctx -> serve(ctx, InferenceRequest.Kind.CHAT));
        router.get("/v1/models").handler(ctx -> ctx.response().putHeader("content-type", "application/json")
                .end(CompletionJson.models(List.of(pod.modelId()), pod.startedAtSeconds())));
        router.route("/v1/*").handler(ctx -> ErrorResponses.send(ctx, OpenAiError.notFound(ctx.request().path())));
        router.route("/v1/*").failureHandler(ErrorResponses::fromFailure);
    }

    private void serve(RoutingContext ctx, InferenceRequest.Kind kind) {
        InferenceRequest request;
        try {
            request = parser.parse(kind, ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes());
            if (!request.model().equals(pod.modelId())) {
                throw new OpenAiException(OpenAiError.modelNotFound(request.model()));
            }
        } catch (OpenAiException e) {
            ErrorResponses.send(ctx, e.error());
            return;
        }
        if (!pod.isReady()) {
            ErrorResponses.send(ctx, OpenAiError.unavailable("The pod is not ready."));
            return;
        }
        String id = (kind == InferenceRequest.Kind.CHAT ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
        int[] prompt;
        try {
            // The model's chat template; a conversation it refuses (raise_exception) is a 400 naming its message.
            prompt = PromptEncoder.tokens(request, pod.promptFormat());
        } catch (OpenAiException e) {
            ErrorResponses.send(ctx, e.error());
            return;
        }
        String refusal = pod.engine().refusal(prompt.length, request.maxTokens());
        if (refusal != null) {
            // Like vLLM: prompt + max_tokens beyond the context is refused (not clamped), naming the limit; the param
            // is the prompt when it alone does not fit.
            String param = prompt.length < pod.engine().maxContextTokens() ? "max_tokens"
                    : kind == InferenceRequest.Kind.CHAT ? "messages" : "prompt";
            ErrorResponses.send(ctx, OpenAiError.invalidRequest(refusal, param));
            return;
        }
        Output output = new Output(ctx.response(), request, id, pod, prompt.length);
        // Installed before the engine can finish the request (and end the response, after which Vert.x refuses it).
        ctx.response().closeHandler(closed -> output.clientGone());
        // Headers go out before the engine can produce the first token.
        output.begin();
        SamplingParams sampling = new SamplingParams(request.temperature(), request.topK(), request.topP(), request.seed());
        output.handle = pod.engine().submit(new GenerationRequest(id, prompt, request.maxTokens(), sampling, output,
                request.cacheSalt(), session(ctx, request), request.toolCall()));
        if (output.done || output.gone) {
            // Finished (a stop string) or abandoned before the handle was known: stop generating.
            output.handle.cancel();
        }
    }

    /**
     * The request's session: the {@code x-kvmesh-session} header, else OpenAI's {@code user} field, else none. A turn
     * ending in a tool call pauses under it, and the session's next turn resumes from the KV kept for it. Sessions
     * are per pod and per cache salt (a tenant cannot resume another's session: its prompt hashes differently).
     */
    private static String session(RoutingContext ctx, InferenceRequest request) {
        String header = ctx.request().getHeader(SESSION_HEADER);
        if (header != null && !header.isBlank()) {
            return request.cacheSalt() + "\u0000" + header.strip();
        }
        return request.user() == null || request.user().isBlank() ? null : request.cacheSalt() + "\u0000" + request.user();
    }

    public static final String SESSION_HEADER = "x-kvmesh-session";

    /**
     * Streams or collects one request's text into its HTTP response, on the engine thread. With stop strings, the last
     * few characters are held back until they cannot begin a stop string, so a stop string is never shown. The engine
     * itself stops at every end-of-generation token (EOS, or end of turn such as Llama 3's {@code <|eot_id|>}).
     *
     * <p>A chat with {@code tools} (and {@code tool_choice} {@code "auto"}) is read for calls as vLLM's
     * {@code llama3_json} parser reads it ({@link ToolCallParser}): while the answer may still be a call (it starts
     * with <code>{</code> or {@code <|python_tag|>}) nothing is streamed; when it ends, calls become {@code tool_calls}
     * (one delta each when streaming) with {@code finish_reason: "tool_calls"}, and anything else is sent as text.
     * The engine asks {@link #calledTool()} at the end, so a call pauses the session like a declared one.
     */
    static final class Output implements TokenSink {
        private final HttpServerResponse response;
        private final InferenceRequest request;
        private final String id;
        private final RuntimePod pod;
        private final int promptTokens;
        private final long created = System.currentTimeMillis() / 1000;
        private final StreamingDecoder decoder;
        private final StringBuilder text = new StringBuilder();
        private final int holdBack;
        /** Null when the answer is not read for calls. */
        private final ToolCallParser toolCalls;
        private ToolCallParser.Prefix prefix = ToolCallParser.Prefix.UNDECIDED;
        /** The calls the complete answer makes; null until it is complete. */
        private List<ToolCall> calls;
        private boolean decoderFlushed;
        private volatile Engine.Handle handle;
        private int shown;
        private volatile int cachedPromptTokens;
        private int completionTokens;
        private boolean first = true;
        private volatile boolean done;
        private volatile boolean gone;

        /** The client went away: stop generating (now, or as soon as the engine's handle is known). */
        void clientGone() {
            gone = true;
            Engine.Handle known = handle;
            if (known != null) {
                known.cancel();
            }
        }

        Output(HttpServerResponse response, InferenceRequest request, String id, RuntimePod pod, int promptTokens) {
            this.response = response;
            this.request = request;
            this.id = id;
            this.pod = pod;
            this.promptTokens = promptTokens;
            this.decoder = new StreamingDecoder(pod.tokenizer());
            this.holdBack = request.stop().stream().mapToInt(String::length).max().orElse(1) - 1;
            this.toolCalls = request.recognisesToolCalls() ? new ToolCallParser(request.tools()) : null;
        }

        void begin() {
            response.putHeader("x-kvmesh-pod", pod.podId());
            if (request.stream()) {
                response.setChunked(true);
                response.putHeader("content-type", "text/event-stream");
                response.putHeader("cache-control", "no-cache");
                // Send the headers now, so a router sees the first byte before the first token.
                response.write("");
            }
        }

        @Override
        public void onStart(int cachedPromptTokens) {
            this.cachedPromptTokens = cachedPromptTokens;
        }

        @Override
        public void onToken(int tokenId) {
            if (done) {
                return;
            }
            completionTokens++;
            int from = Math.max(0, text.length() - holdBack);
            text.append(decoder.push(tokenId));
            for (String stop : request.stop()) {
                int at = text.indexOf(stop, from);
                if (at >= 0) {
                    text.setLength(at);
                    // Bytes still in the decoder come after the stop string.
                    decoderFlushed = true;
                    finish("stop", cachedPromptTokens);
                    if (handle != null) {
                        handle.cancel();
                    }
                    return;
                }
            }
            if (request.stream() && !mayBeToolCall()) {
                showUpTo(text.length() - holdBack);
            }
        }

        /** Whether the answer so far may still be a tool call, so none of it may be streamed yet. */
        private boolean mayBeToolCall() {
            if (toolCalls != null && prefix == ToolCallParser.Prefix.UNDECIDED) {
                prefix = toolCalls.classify(text);
            }
            return toolCalls != null && prefix != ToolCallParser.Prefix.TEXT;
        }

        /** Asked by the engine when the request ends (before {@link #onFinish}): the first call's tool, if any. */
        @Override
        public String calledTool() {
            flushDecoder();
            List<ToolCall> made = calls();
            return made.isEmpty() ? null : made.getFirst().name();
        }

        @Override
        public void onFinish(FinishReason reason, int promptTokens, int completionTokens, int cachedPromptTokens) {
            if (done) {
                return;
            }
            flushDecoder();
            finish(reason.openAiName(), cachedPromptTokens);
        }

        private void flushDecoder() {
            if (!decoderFlushed) {
                text.append(decoder.flush());
                decoderFlushed = true;
            }
        }

        /** The calls the complete answer makes (parsed once, so their ids stay the same); empty for text. */
        private List<ToolCall> calls() {
            if (calls == null) {
                calls = toolCalls == null ? List.of() : toolCalls.parse(text.toString());
            }
            return calls;
        }

        /** Ends the response with OpenAI's finish reason (tool_calls when the answer is calls) and the usage. */
        private void finish(String reason, int cachedTokens) {
            done = true;
            if (response.closed()) {
                return;
            }
            List<ToolCall> made = calls();
            String finishReason = made.isEmpty() ? reason : FinishReason.TOOL_CALLS.openAiName();
            Usage usage = new Usage(promptTokens, completionTokens, Math.max(0, cachedTokens));
            if (request.stream()) {
                StringBuilder tail = new StringBuilder();
                if (made.isEmpty()) {
                    showUpTo(text.length());
                } else {
                    for (int i = 0; i < made.size(); i++) {
                        tail.append(event(CompletionJson.toolCallChunk(id, created, pod.modelId(), i, made.get(i), first)));
                        first = false;
                    }
                }
                tail.append(event(CompletionJson.chunk(request.kind(), id, created, pod.modelId(), "", first, finishReason)));
                if (request.includeUsage()) {
                    tail.append(event(CompletionJson.usageChunk(request.kind(), id, created, pod.modelId(), usage)));
                }
                response.end(tail.append("data: [DONE]\n\n").toString());
            } else {
                response.putHeader("content-type", "application/json")
                        .end(CompletionJson.response(request.kind(), id, created, pod.modelId(), text.toString(), made,
                                finishReason, usage));
            }
        }

        private void showUpTo(int end) {
            if (end <= shown || response.closed()) {
                return;
            }
            response.write(event(CompletionJson.chunk(request.kind(), id, created, pod.modelId(), text.substring(shown, end), first, null)));
            shown = end;
            first = false;
        }

        private static String event(String json) {
            return "data: " + json + "\n\n";
        }
    }
}
