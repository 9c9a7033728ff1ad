package io.kvmesh.router.api;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
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
import io.kvmesh.prefix.events.PodStatus;
import io.kvmesh.prefix.events.PoolTopics;
import io.kvmesh.streams.PodEventPublisher;
import io.kvmesh.streams.StreamSettings;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;

/**
 * Failover on real HTTP: pods that answer 503 are skipped (at most {@code max-tries} pods per request, then a 503), and
 * a pod that dies after the first streamed byte ends the client's stream with an OpenAI-style error event.
 */
@QuarkusTest
@QuarkusTestResource(KafkaBrokerTestResource.class)
@TestProfile(FailoverTest.Profile.class)
class FailoverTest {

    private static final String TOPICS = "kvmesh.failover.test";

    public static final class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("kvmesh.heartbeat-timeout", "10m", "kvmesh.kafka.topic-prefix", TOPICS, "kvmesh.max-tries", "2",
                    "kvmesh.suspect-for", "10m", "kvmesh.speculative.ttl", "0s");
        }
    }

    private static HttpServer overloaded;
    private static ServerSocket dying;
    private static Thread dyingLoop;

    @BeforeAll
    static void startPods() throws IOException {
        overloaded = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        overloaded.createContext("/", exchange -> {
            exchange.getRequestBody().readAllBytes();
            byte[] answer = "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}".getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("content-type", "application/json");
            exchange.sendResponseHeaders(503, answer.length);
            exchange.getResponseBody().write(answer);
            exchange.close();
        });
        overloaded.start();
        // Answers plain requests, but a stream gets one event and then a dropped connection (no closing chunk).
        dying = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        dyingLoop = Thread.ofVirtual().start(() -> {
            while (!dying.isClosed()) {
                try (Socket socket = dying.accept()) {
                    String request = readRequest(socket.getInputStream());
                    OutputStream out = socket.getOutputStream();
                    if (request.contains("\"stream\":true")) {
                        String event = "data: {\"choices\":[{\"text\":\"a\"}]}\n\n";
                        out.write(("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
                                + Integer.toHexString(event.length()) + "\r\n" + event + "\r\n").getBytes(StandardCharsets.UTF_8));
                        out.flush();
                        Thread.sleep(200);
                        socket.setSoLinger(true, 0); // RST: the pod process "dies"
                    } else {
                        String body = "{\"object\":\"text_completion\",\"choices\":[{\"text\":\"ok\"}]}";
                        out.write(("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: " + body.length()
                                + "\r\nconnection: close\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
                        out.flush();
                    }
                } catch (IOException | InterruptedException e) {
                    // the next connection
                }
            }
        });
    }

    /** Request line, headers and a content-length body. */
    private static String readRequest(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.append((char) b);
        }
        int length = 0;
        for (String line : head.toString().split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        return head + new String(in.readNBytes(length), StandardCharsets.UTF_8);
    }

    @AfterAll
    static void stopPods() throws IOException {
        overloaded.stop(0);
        dying.close();
    }

    private static PodStatus pod(String id, int port, int queue) {
        return new PodStatus(id, 1, "127.0.0.1:" + port, "f", 16, true, queue, 0, 0, new BlockUsage(0, 100), new BlockUsage(0, 0),
                0, 0, System.currentTimeMillis());
    }

    @Test
    void failuresBeforeTheAnswerMoveOnAndFailuresAfterItEndTheStreamWithAnError() throws Exception {
        String bootstrap = ConfigProvider.getConfig().getValue("kvmesh.kafka.bootstrap-servers", String.class);
        StreamSettings streams = new StreamSettings(bootstrap, new PoolTopics(TOPICS), 4, Duration.ofHours(1), true);
        io.kvmesh.streams.PoolTopicsAdmin.ensureTopics(streams);
        try (PodEventPublisher publisher = new PodEventPublisher(streams)) {
            // Least loaded first: the two overloaded pods, then the dying one.
            publisher.publish(pod("a-overloaded", overloaded.getAddress().getPort(), 0));
            publisher.publish(pod("b-overloaded", overloaded.getAddress().getPort(), 0));
            publisher.publish(pod("c-dying", dying.getLocalPort(), 1));
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline && !given().get("/router/stats").then().extract().path("livePods").equals(3)) {
            Thread.sleep(100);
        }
        String completion = "{\"model\":\"f\",\"prompt\":\"hello\",\"max_tokens\":2%s}";

        // Two tries (max-tries 2), both 503: the client gets a 503 naming the tries; both pods are now suspect.
        given().contentType(ContentType.JSON).body(completion.formatted("")).post("/v1/completions").then().statusCode(503)
                .body("error.message", containsString("tried 2"));
        // Suspects go last: the dying pod answers a plain request.
        given().contentType(ContentType.JSON).body(completion.formatted("")).post("/v1/completions").then().statusCode(200)
                .header("x-kvmesh-pod", "c-dying").body("choices[0].text", equalTo("ok"));
        // A stream it drops after the first event ends with an error event, not silently.
        String stream = given().contentType(ContentType.JSON).body(completion.formatted(",\"stream\":true"))
                .post("/v1/completions").then().statusCode(200).extract().asString();
        List<String> events = stream.lines().filter(line -> !line.isBlank()).toList();
        assertThat(events).hasSize(2);
        assertThat(events.getFirst()).contains("\"text\":\"a\"");
        assertThat(events.getLast()).startsWith("data: {\"error\":").contains("\"code\":\"upstream_failed\"");

        given().get("/metrics").then().statusCode(200)
                .body(containsString("kvmesh_router_upstream_failures_total{stage=\"before-answer\"} 2.0"))
                .body(containsString("kvmesh_router_upstream_failures_total{stage=\"mid-answer\"} 1.0"));
    }
}
