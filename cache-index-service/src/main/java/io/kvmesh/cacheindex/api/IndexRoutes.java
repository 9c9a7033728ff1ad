package io.kvmesh.cacheindex.api;

import java.io.IOException;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.kvmesh.cacheindex.app.CacheIndex;
import io.kvmesh.openai.OpenAiError;
import io.kvmesh.openai.vertx.ErrorResponses;
import io.kvmesh.prefix.blocks.BlockHashFormat;
import io.kvmesh.prefix.blocks.BlockHasher;
import io.kvmesh.prefix.index.IndexStats;
import io.kvmesh.prefix.index.PodMatch;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * {@code GET /index/stats}: pods, blocks, batches/s, lag. {@code POST /index/match} with {@code {"tokenIds": [...]}}
 * (hashed with the service's model id, salt and block size) or {@code {"blockHashes": ["16 hex digits", ...]}}:
 * each pod's consecutive matched blocks by tier.
 */
@ApplicationScoped
public class IndexRoutes {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_BODY = 16 << 20;

    private final CacheIndex cacheIndex;

    IndexRoutes(CacheIndex cacheIndex) {
        this.cacheIndex = cacheIndex;
    }

    void install(@Observes Router router) {
        router.route("/index/*").handler(BodyHandler.create(false).setBodyLimit(MAX_BODY));
        router.get("/index/stats").handler(this::stats);
        router.post("/index/match").handler(this::match);
        router.route("/index/*").failureHandler(ErrorResponses::fromFailure);
    }

    private void stats(RoutingContext ctx) {
        IndexStats stats = cacheIndex.index().stats();
        ObjectNode body = JSON.createObjectNode();
        body.put("pods", stats.pods());
        body.put("livePods", cacheIndex.pods().live().size());
        body.put("distinctBlocks", stats.distinctBlocks());
        body.put("evictedEntries", cacheIndex.index().evictedEntries());
        body.put("deviceEntries", stats.deviceEntries());
        body.put("hostEntries", stats.hostEntries());
        body.put("batchesApplied", cacheIndex.follower().batchesApplied());
        body.put("duplicateBatches", cacheIndex.follower().outcomes(io.kvmesh.prefix.index.ApplyOutcome.DUPLICATE));
        body.put("staleEpochBatches", cacheIndex.follower().outcomes(io.kvmesh.prefix.index.ApplyOutcome.STALE_EPOCH));
        body.put("seqGaps", cacheIndex.follower().outcomes(io.kvmesh.prefix.index.ApplyOutcome.SEQ_GAP));
        body.put("batchesPerSecond", cacheIndex.batchesPerSecond());
        body.put("eventsApplied", cacheIndex.follower().eventsApplied());
        body.put("eventsPerSecond", cacheIndex.eventsPerSecond());
        body.put("malformedRecords", cacheIndex.follower().malformedRecords());
        body.put("lag", cacheIndex.follower().lag());
        body.put("caughtUp", cacheIndex.follower().isCaughtUp());
        body.put("snapshotsWritten", cacheIndex.writer().snapshotsWritten());
        body.put("heartbeatTimeoutMs", cacheIndex.heartbeatTimeout().toMillis());
        ctx.response().putHeader("content-type", "application/json").end(body.toString());
    }

    private void match(RoutingContext ctx) {
        long[] hashes;
        try {
            hashes = hashes(ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes());
        } catch (IllegalArgumentException e) {
            ErrorResponses.send(ctx, OpenAiError.invalidRequest(e.getMessage(), null));
            return;
        }
        ObjectNode body = JSON.createObjectNode();
        body.put("blocks", hashes.length);
        ArrayNode matches = body.putArray("matches");
        for (PodMatch match : cacheIndex.index().match(hashes)) {
            ObjectNode node = matches.addObject();
            node.put("podId", match.podId());
            node.put("matchedBlocks", match.matchedBlocks());
            node.put("deviceBlocks", match.deviceBlocks());
            node.put("hostBlocks", match.hostBlocks());
        }
        ctx.response().putHeader("content-type", "application/json").end(body.toString());
    }

    private long[] hashes(byte[] body) {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (IOException e) {
            throw new IllegalArgumentException("The request body is not valid JSON.");
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("Expected a JSON object with tokenIds or blockHashes.");
        }
        JsonNode tokens = root.get("tokenIds");
        JsonNode hashes = root.get("blockHashes");
        if ((tokens == null) == (hashes == null)) {
            throw new IllegalArgumentException("Give exactly one of tokenIds and blockHashes.");
        }
        if (tokens != null) {
            if (!tokens.isArray()) {
                throw new IllegalArgumentException("tokenIds must be an array of integers.");
            }
            int[] ids = new int[tokens.size()];
            for (int i = 0; i < ids.length; i++) {
                if (!tokens.get(i).isIntegralNumber() || !tokens.get(i).canConvertToLong()) {
                    throw new IllegalArgumentException("tokenIds[" + i + "] must be an integer.");
                }
                ids[i] = BlockHasher.tokenId(tokens.get(i).longValue());
            }
            return cacheIndex.hasher().hashFullBlocks(ids);
        }
        if (!hashes.isArray()) {
            throw new IllegalArgumentException("blockHashes must be an array of 16-hex-digit strings.");
        }
        long[] result = new long[hashes.size()];
        for (int i = 0; i < result.length; i++) {
            result[i] = BlockHashFormat.parse(hashes.get(i).asText(""));
        }
        return result;
    }
}
