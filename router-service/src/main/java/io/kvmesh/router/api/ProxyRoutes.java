package io.kvmesh.router.api;

import java.util.List;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.kvmesh.openai.CompletionJson;
import io.kvmesh.openai.InferenceRequest;
import io.kvmesh.openai.InferenceRequestParser;
import io.kvmesh.openai.OpenAiError;
import io.kvmesh.openai.OpenAiException;
import io.kvmesh.openai.PromptEncoder;
import io.kvmesh.openai.vertx.ErrorResponses;
import io.kvmesh.prefix.events.PodStatus;
import io.kvmesh.prefix.index.IndexStats;
import io.kvmesh.router.app.RouterState;
import io.kvmesh.router.routing.Candidate;
import io.kvmesh.router.routing.DecisionReason;
import io.kvmesh.router.routing.PrefixGroups;
import io.kvmesh.router.routing.RoutingDecision;
import io.kvmesh.router.routing.SpeculativeEntries;
import io.kvmesh.router.tenancy.TenantDirectory;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.RequestOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * The public OpenAI-compatible endpoint. Validates the request, renders (chat template) and tokenizes the prompt and
 * hashes its blocks as the pods do (a conversation the template refuses is a 400 here already), ranks
 * the live pods with the routing policy and proxies the original body to the best one, streaming its answer back as
 * it arrives (never buffered whole). A pod that refuses or fails before answering is marked suspect and the next one
 * is tried; when none is left the client gets a 503. The chosen pod is named in {@code x-kvmesh-pod}.
 */
@ApplicationScoped
public class ProxyRoutes {

    private static final Logger LOG = Logger.getLogger(ProxyRoutes.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> FORWARDED_HEADERS = List.of("content-type", "cache-control", "x-kvmesh-pod");
    /** The session key of paused tool calls (the pod's; the router passes it on untouched). */
    private static final String SESSION_HEADER = "x-kvmesh-session";
    private static final String PREDICTED_CACHED_HEADER = "x-kvmesh-predicted-cached-tokens";
    /** Why the pod was chosen ({@code DecisionReason}'s label, or {@code failover} after a pod failed first). */
    private static final String ROUTING_REASON_HEADER = "x-kvmesh-routing-reason";

    private final RouterState state;
    private final InferenceRequestParser parser = new InferenceRequestParser();
    /**
     * One client per event loop, used only from that loop, so every connection it pools lives on the loop that
     * handles the client's request: no hop to another loop's thread and back per request. With one shared pool a
     * request often drew a connection owned by the other loop; where the router has fewer cores than loops (Vert.x runs
     * two per core) each hop waited for that thread's turn on the core, which made the router's own p99 2.5 ms at
     * 1,000 req/s instead of 0.15 ms (README, "router added latency").
     */
    private final ThreadLocal<HttpClient> clients;
    private final Vertx vertx;
    private final RouterOverhead overhead;

    ProxyRoutes(RouterState state, Vertx vertx, MetricsRoute metrics) {
        this.state = state;
        this.vertx = vertx;
        this.overhead = metrics.overhead();
        HttpClientOptions options = new HttpClientOptions()
                .setConnectTimeout((int) state.settings().connectTimeout().toMillis())
                .setKeepAlive(true)
                .setMaxPoolSize(500);
        this.clients = ThreadLocal.withInitial(() -> vertx.createHttpClient(options));
    }

    void install(@Observes Router router) {
        router.route("/v1/*").handler(BodyHandler.create(false).setBodyLimit(state.maxBodyBytes()));
        router.route("/router/*").handler(BodyHandler.create(false).setBodyLimit(state.maxBodyBytes()));
        router.post("/v1/completions").handler(ctx -> route(ctx, InferenceRequest.Kind.COMPLETION));
        router.post("/v1/chat/completions").handler(ctx -> route(ctx, InferenceRequest.Kind.CHAT));
        router.get("/v1/models").handler(ctx -> ctx.response().putHeader("content-type", "application/json")
                .end(CompletionJson.models(state.selector().models(), 0)));
        router.get("/router/stats").handler(this::stats);
        router.post("/router/explain").handler(this::explain);
        router.route("/v1/*").handler(ctx -> ErrorResponses.send(ctx, OpenAiError.notFound(ctx.request().path())));
        router.route("/v1/*").failureHandler(ErrorResponses::fromFailure);
        router.route("/router/*").failureHandler(ErrorResponses::fromFailure);
    }

    private void route(RoutingContext ctx, InferenceRequest.Kind kind) {
        long received = System.nanoTime();
        byte[] body = body(ctx);
        RoutingDecision decision;
        Optional<TenantDirectory.Tenant> tenant;
        try {
            tenant = tenant(ctx);
            decision = rank(kind, body, tenant);
        } catch (OpenAiException e) {
            ErrorResponses.send(ctx, e.error());
            return;
        }
        overhead.decided(received, System.nanoTime());
        state.decided(decision);
        Buffer payload = Buffer.buffer(tenant.isPresent() ? withCacheSalt(body, tenant.get().cacheSalt()) : body);
        Optional<PrefixGroups.Membership> membership = state.groups()
                .join(decision.blockHashes(), decision.ranked().getFirst().podId(), System.nanoTime());
        if (membership.isEmpty() || membership.get().leader()) {
            membership.ifPresent(leader -> ctx.addEndHandler(ended -> leader.group().leaderDone()));
            forward(ctx, kind.path(), payload, decision, 0, received);
            return;
        }
        PrefixGroups.Group group = membership.get().group();
        RoutingDecision followLeader = decision.preferring(group.podId());
        // The wait for the leader's blocks is deliberate, not overhead: the clock restarts when the follower is released.
        whenPrefixIsCached(ctx, group, () -> forward(ctx, kind.path(), payload, followLeader, 0, System.nanoTime()));
    }

    /**
     * Runs {@code then} once the group's pod holds the shared prefix (its KV events reached this replica's index), or
     * the leader's answer ended, or {@code kvmesh.groups.max-wait} passed: the follower then finds the prefix cached
     * instead of computing it again alongside the leader.
     */
    private void whenPrefixIsCached(RoutingContext ctx, PrefixGroups.Group group, Runnable then) {
        long deadline = System.nanoTime() + state.settings().groups().maxWait().toNanos();
        vertx.setPeriodic(5, timer -> {
            if (ctx.response().closed()) {
                vertx.cancelTimer(timer);
            } else if (group.isLeaderDone() || state.index().holds(group.podId(), group.prefixHash())
                    || System.nanoTime() > deadline) {
                vertx.cancelTimer(timer);
                then.run();
            }
        });
    }

    /** With tenants configured, the caller's tenant by API key, else a 401; an open pool has none. */
    private Optional<TenantDirectory.Tenant> tenant(RoutingContext ctx) {
        TenantDirectory tenants = state.tenants();
        if (!tenants.enabled()) {
            return Optional.empty();
        }
        return Optional.of(tenants.authenticate(ctx.request().getHeader("authorization"))
                .orElseThrow(() -> new OpenAiException(OpenAiError.invalidApiKey())));
    }

    /** The body with {@code cache_salt} set to the tenant's, whatever the client sent: a tenant cannot pick another's. */
    private static byte[] withCacheSalt(byte[] body, String salt) {
        try {
            ObjectNode json = (ObjectNode) JSON.readTree(body);
            json.put("cache_salt", salt);
            return JSON.writeValueAsBytes(json);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("a body the parser accepted is JSON", e);
        }
    }

    private static byte[] body(RoutingContext ctx) {
        return ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes();
    }

    private RoutingDecision rank(InferenceRequest.Kind kind, byte[] body, Optional<TenantDirectory.Tenant> tenant) {
        InferenceRequest request = parser.parse(kind, body);
        if (state.pods().live().isEmpty()) {
            throw new OpenAiException(OpenAiError.unavailable("No inference pod is available; retry later."));
        }
        if (!state.selector().models().contains(request.model())) {
            // Checked before hashing: a model no pod serves (even "" or one with a NUL) has no block chain to build.
            throw new OpenAiException(OpenAiError.modelNotFound(request.model()));
        }
        // The pod hashes with the salt it receives: the tenant's (set in the forwarded body), else the client's own.
        String salt = tenant.map(TenantDirectory.Tenant::cacheSalt)
                .orElse(request.cacheSalt());
        RoutingDecision ranked = candidates(request, salt);
        if (ranked.isEmpty()) {
            throw new OpenAiException(OpenAiError.unavailable("No pod serving " + request.model() + " is ready; retry later."));
        }
        return ranked;
    }

    private RoutingDecision candidates(InferenceRequest request, String salt) {
        int[] tokens = PromptEncoder.tokens(request, state.promptFormat());
        long[] hashes = state.hasher(request.model(), salt).hashFullBlocks(tokens);
        return state.selector().select(request.model(), hashes, state.suspects());
    }

    /**
     * Sends the request to the {@code attempt}-th ranked pod. A pod that refuses the connection, fails before answering
     * or answers with a 5xx (not ready, overloaded) is marked suspect and the next one is tried, at most
     * {@code kvmesh.max-tries} pods in all; then the client gets a 503. {@code since} is when the router took the
     * request in hand (or, on a retry, when the previous pod failed): the start of its own overhead.
     */
    private void forward(RoutingContext ctx, String path, Buffer body, RoutingDecision decision, int attempt, long since) {
        int tries = Math.min(decision.ranked().size(), state.settings().maxTries());
        if (attempt >= tries) {
            ErrorResponses.send(ctx, OpenAiError.unavailable("No inference pod answered; tried " + tries + "."));
            return;
        }
        Candidate chosen = decision.ranked().get(attempt);
        PodStatus pod = chosen.status();
        state.dispatched(decision, pod.podId());
        Runnable ended = state.opened(pod.podId());
        ctx.addEndHandler(done -> ended.run());
        int colon = pod.address().lastIndexOf(':');
        RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST)
                .setHost(pod.address().substring(0, colon))
                .setPort(Integer.parseInt(pod.address().substring(colon + 1)))
                .setURI(path)
                .putHeader("content-type", "application/json");
        // A pod pauses a session's KV on a tool call and resumes it on the session's next turn: it needs the key.
        String session = ctx.request().getHeader(SESSION_HEADER);
        if (session != null) {
            options.putHeader(SESSION_HEADER, session);
        }
        long[] sent = new long[1];
        clients.get().request(options)
                .compose(request -> {
                    Future<HttpClientResponse> response = request.send(body);
                    sent[0] = System.nanoTime();
                    return response;
                })
                .onSuccess(response -> {
                    if (response.statusCode() >= 500) {
                        // Nothing has reached the client yet: another pod can still answer.
                        response.request().reset();
                        ended.run();
                        failedBeforeAnswer(ctx, path, body, decision, attempt, pod, "status " + response.statusCode());
                    } else {
                        // What the index predicted this pod holds of the prompt; the pod's usage says what it reused.
                        ctx.response().putHeader(PREDICTED_CACHED_HEADER,
                                Integer.toString(chosen.match().matchedBlocks() * state.settings().blockSize()));
                        ctx.response().putHeader(ROUTING_REASON_HEADER, attempt == 0 ? decision.reason().label() : "failover");
                        long headReceived = System.nanoTime();
                        ctx.response().headersEndHandler(v -> overhead.held(sent[0] - since, System.nanoTime() - headReceived));
                        relay(ctx, pod, response);
                    }
                })
                .onFailure(error -> {
                    ended.run();
                    failedBeforeAnswer(ctx, path, body, decision, attempt, pod, error.getMessage());
                });
    }

    private void failedBeforeAnswer(RoutingContext ctx, String path, Buffer body, RoutingDecision decision, int attempt,
                                    PodStatus pod, String why) {
        LOG.warnf("pod %s at %s failed before answering (%s); trying the next", pod.podId(), pod.address(), why);
        state.suspect(pod.podId());
        state.upstreamFailures().beforeAnswer().increment();
        if (!ctx.response().closed()) {
            forward(ctx, path, body, decision, attempt + 1, System.nanoTime());
        }
    }

    /**
     * Pipes the pod's answer to the client as it arrives. If the pod fails after the first byte, the answer cannot
     * move to another pod: a stream ends with an OpenAI-style error event (never silently), any other body by
     * resetting the connection, so the client sees a broken response rather than a short one.
     */
    private void relay(RoutingContext ctx, PodStatus pod, HttpClientResponse response) {
        HttpServerResponse out = ctx.response();
        if (out.closed()) {
            response.request().reset();
            return;
        }
        out.setStatusCode(response.statusCode());
        for (String header : FORWARDED_HEADERS) {
            String value = response.getHeader(header);
            if (value != null) {
                out.putHeader(header, value);
            }
        }
        out.putHeader("x-kvmesh-pod", pod.podId());
        String length = response.getHeader("content-length");
        if (length != null) {
            out.putHeader("content-length", length);
        } else {
            out.setChunked(true);
        }
        boolean stream = String.valueOf(response.getHeader("content-type")).startsWith("text/event-stream");
        if (stream) {
            // The pod sends its head before the first token; so does the router: the client learns at once that the
            // request was accepted, and the router's relay time stops measuring the pod's time to first token.
            out.write(Buffer.buffer());
        }
        response.pipe().endOnFailure(false).to(out).onFailure(error -> {
            LOG.warnf("pod %s failed mid-answer (%s)", pod.podId(), error.getMessage());
            state.suspect(pod.podId());
            state.upstreamFailures().midAnswer().increment();
            if (out.closed() || out.ended()) {
                return;
            }
            if (stream) {
                ObjectNode event = JSON.createObjectNode();
                ObjectNode detail = event.putObject("error");
                detail.put("message", "The inference pod " + pod.podId() + " failed while streaming; the answer is incomplete.");
                detail.put("type", "server_error");
                detail.putNull("param");
                detail.put("code", "upstream_failed");
                out.end("data: " + event + "\n\n");
            } else {
                out.reset();
            }
        });
    }

    private void stats(RoutingContext ctx) {
        IndexStats stats = state.index().stats();
        ObjectNode body = JSON.createObjectNode();
        body.put("policy", state.policy());
        body.put("livePods", state.pods().live().size());
        body.put("indexedPods", stats.pods());
        body.put("distinctBlocks", stats.distinctBlocks());
        body.put("evictedEntries", state.index().evictedEntries());
        body.put("deviceEntries", stats.deviceEntries());
        body.put("hostEntries", stats.hostEntries());
        body.put("caughtUp", state.follower().isCaughtUp());
        body.put("lag", state.follower().lag());
        body.put("malformedRecords", state.follower().malformedRecords());
        body.put("duplicateBatches", state.follower().outcomes(io.kvmesh.prefix.index.ApplyOutcome.DUPLICATE));
        body.put("seqGaps", state.follower().outcomes(io.kvmesh.prefix.index.ApplyOutcome.SEQ_GAP));
        ArrayNode suspects = body.putArray("suspects");
        state.suspects().forEach(suspects::add);
        ObjectNode decisions = body.putObject("decisions");
        for (DecisionReason reason : DecisionReason.values()) {
            decisions.put(reason.label(), state.decisions().get(reason));
        }
        SpeculativeEntries.Counts speculative = state.speculative().counts();
        body.putObject("speculativeEntries").put("held", speculative.held()).put("inserted", speculative.inserted())
                .put("confirmed", speculative.confirmed()).put("expired", speculative.expired());
        ctx.response().putHeader("content-type", "application/json").end(body.toString());
    }

    /** What the router would do with a request: the ranked pods with their matched blocks. Sends nothing to a pod. */
    private void explain(RoutingContext ctx) {
        String path = ctx.request().getParam("kind", "completion");
        InferenceRequest.Kind kind = path.equals("chat") ? InferenceRequest.Kind.CHAT : InferenceRequest.Kind.COMPLETION;
        RoutingDecision ranked;
        try {
            ranked = rank(kind, body(ctx), tenant(ctx));
        } catch (OpenAiException e) {
            ErrorResponses.send(ctx, e.error());
            return;
        }
        ObjectNode result = JSON.createObjectNode();
        result.put("policy", state.policy());
        result.put("reason", ranked.reason().label());
        result.put("blocks", ranked.blockHashes().length);
        ArrayNode pods = result.putArray("ranked");
        for (Candidate candidate : ranked.ranked()) {
            ObjectNode node = pods.addObject();
            node.put("podId", candidate.podId());
            node.put("matchedBlocks", candidate.match().matchedBlocks());
            node.put("deviceBlocks", candidate.match().deviceBlocks());
            node.put("hostBlocks", candidate.match().hostBlocks());
            node.put("queue", candidate.queue());
            node.put("kvUsage", candidate.kvUsage());
        }
        ctx.response().putHeader("content-type", "application/json").end(result.toString());
    }
}
