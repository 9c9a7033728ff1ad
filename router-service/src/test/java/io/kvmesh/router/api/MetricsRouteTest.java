package io.kvmesh.router.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.matchesPattern;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpServer;

import io.kvmesh.kafka.broker.quarkus.KafkaBrokerTestResource;
import io.kvmesh.prefix.events.BlockUsage;
import io.kvmesh.prefix.events.BlocksQueued;
import io.kvmesh.prefix.events.KvEventBatch;
import io.kvmesh.prefix.events.PodStatus;
import io.kvmesh.prefix.events.PoolTopics;
import io.kvmesh.streams.PodEventPublisher;
import io.kvmesh.streams.StreamSettings;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;

/** A routed request shows up on {@code /metrics}; explain names the guard's reason and sees the speculative entry. */
@QuarkusTest
@QuarkusTestResource(KafkaBrokerTestResource.class)
@TestProfile(MetricsRouteTest.SlowClock.class)
class MetricsRouteTest {

    /** The fake pod sends no heartbeats after the first and no KV events: keep it live and its speculation long. */
    public static final class SlowClock implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("kvmesh.heartbeat-timeout", "10m", "kvmesh.speculative.ttl", "10m");
        }
    }

    private static final String COMPLETION = "{\"model\":\"m\",\"prompt\":\"a prompt that is long enough for a few blocks of sixteen tokens\",\"max_tokens\":1}";
    private static HttpServer pod;

    /** A pod that answers every completion with the same body. */
    @BeforeAll
    static void startPod() throws IOException {
        pod = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        pod.createContext("/v1/completions", exchange -> {
            exchange.getRequestBody().readAllBytes();
            byte[] answer = "{\"object\":\"text_completion\",\"choices\":[{\"text\":\"x\"}]}".getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("content-type", "application/json");
            exchange.sendResponseHeaders(200, answer.length);
            exchange.getResponseBody().write(answer);
            exchange.close();
        });
        pod.start();
    }

    @AfterAll
    static void stopPod() {
        pod.stop(0);
    }

    @Test
    void aRoutedRequestIsCountedByPolicyAndReason() throws Exception {
        String bootstrap = ConfigProvider.getConfig().getValue("kvmesh.kafka.bootstrap-servers", String.class);
        StreamSettings streams = new StreamSettings(bootstrap, new PoolTopics("kvmesh.default.local"), 4, Duration.ofHours(1), false);
        try (PodEventPublisher publisher = new PodEventPublisher(streams)) {
            publisher.publish(new PodStatus("fake-pod", 1, "127.0.0.1:" + pod.getAddress().getPort(), "m", 16, true, 0, 0, 0,
                    new BlockUsage(0, 100), new BlockUsage(0, 0), 0, 0, System.currentTimeMillis()));
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline && !given().get("/router/stats").then().extract().path("livePods").equals(1)) {
            Thread.sleep(100);
        }
        given().contentType(ContentType.JSON).body(COMPLETION).post("/router/explain").then().statusCode(200)
                .body("policy", equalTo("prefix-aware")).body("reason", equalTo("no-match"))
                .body("ranked[0].podId", equalTo("fake-pod"));
        // Explaining routes nothing.
        given().get("/metrics").then().statusCode(200)
                .body(containsString("kvmesh_router_decisions_total{policy=\"prefix-aware\",reason=\"no-match\"} 0.0"));

        given().contentType(ContentType.JSON).body(COMPLETION).post("/v1/completions").then().statusCode(200)
                .header("x-kvmesh-pod", "fake-pod").header("x-kvmesh-routing-reason", "no-match")
                .body("choices[0].text", equalTo("x"));

        given().get("/metrics").then().statusCode(200)
                .contentType(containsString("text/plain"))
                .body(containsString("kvmesh_router_decisions_total{policy=\"prefix-aware\",reason=\"no-match\"} 1.0"))
                .body(containsString("kvmesh_router_decisions_total{policy=\"prefix-aware\",reason=\"prefix\"} 0.0"))
                .body(containsString("kvmesh_router_pods{ready=\"true\"} 1.0"))
                .body(matchesPattern("(?s).*kvmesh_router_speculative_entries_inserted_total [1-9][0-9]*\\.0\n.*"))
                .body(containsString("kvmesh_router_speculative_entries_confirmed_total 0.0"))
                // The router's own time for the one routed request (explain ranks but routes nothing).
                .body(matchesPattern("(?s).*kvmesh_router_overhead_seconds_count 1(\\.0)?\n.*"))
                .body(matchesPattern("(?s).*kvmesh_router_decision_seconds_count 1(\\.0)?\n.*"))
                .body(matchesPattern("(?s).*kvmesh_router_dispatch_seconds_count 1(\\.0)?\n.*"))
                .body(matchesPattern("(?s).*kvmesh_router_relay_seconds_count 1(\\.0)?\n.*"))
                .body(matchesPattern("(?s).*kvmesh_router_overhead_seconds_bucket\\{le=\"1.0\"} 1(\\.0)?\n.*"));
        // The sibling follows the first request on its speculative entries, before any KV event.
        given().contentType(ContentType.JSON).body(COMPLETION).post("/router/explain").then().statusCode(200)
                .body("reason", equalTo("prefix"))
                .body("ranked[0].matchedBlocks", greaterThan(0));
        given().get("/router/stats").then().statusCode(200)
                .body("decisions.no-match", equalTo(1))
                .body("speculativeEntries.held", greaterThan(0));

        // A request the pod announces after its last heartbeat (sent by another replica: this one has none open there)
        // counts in its queue at once.
        given().contentType(ContentType.JSON).body(COMPLETION).post("/router/explain").then().body("ranked[0].queue", equalTo(0));
        try (PodEventPublisher publisher = new PodEventPublisher(streams)) {
            publisher.publish(new KvEventBatch("fake-pod", 1, 0, System.currentTimeMillis(),
                    List.of(new BlocksQueued(new long[] {42, 43}))));
        }
        deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline && !given().contentType(ContentType.JSON).body(COMPLETION).post("/router/explain")
                .then().extract().path("ranked[0].queue").equals(1)) {
            Thread.sleep(100);
        }
        given().contentType(ContentType.JSON).body(COMPLETION).post("/router/explain").then().body("ranked[0].queue", equalTo(1));
    }
}
