package io.kvmesh.cacheindex.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasSize;

import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;

import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

import io.kvmesh.kafka.broker.quarkus.KafkaBrokerTestResource;
import io.kvmesh.prefix.blocks.BlockHasher;
import io.kvmesh.prefix.events.BlockStored;
import io.kvmesh.prefix.events.BlockUsage;
import io.kvmesh.prefix.events.KvEventBatch;
import io.kvmesh.prefix.events.Medium;
import io.kvmesh.prefix.events.PodStatus;
import io.kvmesh.prefix.events.PoolTopics;
import io.kvmesh.streams.PodEventPublisher;
import io.kvmesh.streams.StreamSettings;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;

@QuarkusTest
@QuarkusTestResource(KafkaBrokerTestResource.class)
class IndexRoutesTest {

    @Test
    void foldsPublishedEventsAndAnswersMatchesAndStats() throws Exception {
        String bootstrap = ConfigProvider.getConfig().getValue("kvmesh.kafka.bootstrap-servers", String.class);
        StreamSettings streams = new StreamSettings(bootstrap, new PoolTopics("kvmesh.default.local"), 4, Duration.ofHours(1), false);
        int[] tokens = IntStream.range(0, 64).toArray();
        long[] hashes = new BlockHasher("kvmesh-sim", "", 16).hashFullBlocks(tokens);
        try (PodEventPublisher publisher = new PodEventPublisher(streams)) {
            publisher.publish(new PodStatus("pod-1", 1, "127.0.0.1:1", "kvmesh-sim", 16, true, 0, 0, 0,
                    new BlockUsage(4, 100), new BlockUsage(0, 0), 0, 0, System.currentTimeMillis()));
            publisher.publish(new KvEventBatch("pod-1", 1, 0, 0, List.of(new BlockStored(hashes, null, tokens, 16, Medium.DEVICE))));
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline
                && given().get("/index/stats").then().extract().path("deviceEntries").equals(0)) {
            Thread.sleep(100);
        }
        given().get("/index/stats").then().statusCode(200)
                .body("pods", equalTo(1)).body("livePods", equalTo(1))
                .body("distinctBlocks", equalTo(4)).body("deviceEntries", equalTo(4)).body("caughtUp", equalTo(true))
                .body("batchesApplied", equalTo(1)).body("eventsApplied", equalTo(1)).body("malformedRecords", equalTo(0));
        given().contentType(ContentType.JSON).body("{\"tokenIds\":" + java.util.Arrays.toString(IntStream.range(0, 40).toArray()) + "}")
                .post("/index/match").then().statusCode(200)
                .body("blocks", equalTo(2))
                .body("matches", hasSize(1))
                .body("matches[0].podId", equalTo("pod-1"))
                .body("matches[0].matchedBlocks", equalTo(2));
        given().contentType(ContentType.JSON).body("{\"blockHashes\":[\"" + io.kvmesh.prefix.blocks.BlockHashFormat.format(hashes[0]) + "\"]}")
                .post("/index/match").then().statusCode(200).body("matches[0].deviceBlocks", equalTo(1));
        given().get("/q/health/ready").then().statusCode(200);
    }

    @Test
    void badMatchRequestsAre400s() {
        for (String body : List.of("{", "[]", "{}", "{\"tokenIds\":[1],\"blockHashes\":[]}", "{\"tokenIds\":[-1]}",
                "{\"tokenIds\":\"x\"}", "{\"blockHashes\":[\"xyz\"]}", "{\"tokenIds\":[1e40]}")) {
            given().contentType(ContentType.JSON).body(body).post("/index/match").then()
                    .statusCode(400).body("error.type", equalTo("invalid_request_error"));
        }
    }
}
