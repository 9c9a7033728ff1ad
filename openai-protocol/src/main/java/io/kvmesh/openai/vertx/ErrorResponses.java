package io.kvmesh.openai.vertx;

import org.jboss.logging.Logger;

import io.kvmesh.model.chat.ChatTemplateException;
import io.kvmesh.openai.OpenAiError;
import io.kvmesh.openai.OpenAiException;
import io.vertx.ext.web.RoutingContext;

/** Vert.x adapter shared by router and pod: writes OpenAI-style error bodies, including for failures raised before a handler ran (e.g. an oversized body). */
public final class ErrorResponses {

    private static final Logger LOG = Logger.getLogger(ErrorResponses.class);

    private ErrorResponses() {
    }

    public static void send(RoutingContext ctx, OpenAiError error) {
        if (ctx.response().headWritten()) {
            ctx.response().reset();
            return;
        }
        ctx.response().setStatusCode(error.status()).putHeader("content-type", "application/json").end(error.toJson());
    }

    public static void fromFailure(RoutingContext ctx) {
        int status = ctx.statusCode();
        if (ctx.failure() instanceof OpenAiException refused) {
            send(ctx, refused.error());
        } else if (ctx.failure() instanceof ChatTemplateException refused) {
            send(ctx, OpenAiError.invalidRequest(refused.getMessage(), "messages"));
        } else if (status == 413) {
            send(ctx, OpenAiError.tooLarge());
        } else if (status >= 400 && status < 500) {
            send(ctx, new OpenAiError(status, "The request could not be read.", "invalid_request_error", null, null));
        } else if (ctx.failure() instanceof io.vertx.core.http.HttpClosedException || ctx.response().closed()) {
            // The client went away mid-request (a dropped or slow-loris connection): nobody to answer, nothing broke.
            LOG.debugf("client closed the connection before the request was read: %s", ctx.failure());
        } else {
            LOG.error("request failed", ctx.failure());
            send(ctx, OpenAiError.internal("The server failed to process the request."));
        }
    }
}
