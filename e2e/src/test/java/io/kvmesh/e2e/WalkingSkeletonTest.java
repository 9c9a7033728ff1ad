package io.kvmesh.e2e;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.kvmesh.e2e.local.LocalMesh;
import io.kvmesh.e2e.local.ServiceProcess;
import io.restassured.http.ContentType;
import io.restassured.response.Response;

/**
 * The whole data path on real processes: two sim runtime pods publish KV events to a real Kafka broker, the cache
 * index folds them, and the router (with its own index replica) sends requests sharing a prefix to the warm pod.
 * The steps build on each other, so they run in order on one mesh.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WalkingSkeletonTest {

    /** 255 ASCII characters: with BOS, exactly 256 byte tokens (16 full blocks of 16). */
    private static final String PREFIX = "You are the kvmesh test assistant. Answer briefly and precisely; cite the block you used. "
            .repeat(3).substring(0, 255);

    private static LocalMesh mesh;
    private static String warmPod;

    @BeforeAll
    static void startMesh() throws Exception {
        // A broken mesh must fail the test, not hang it.
        io.restassured.RestAssured.config = io.restassured.RestAssured.config().httpClient(
                io.restassured.config.HttpClientConfig.httpClientConfig()
                        .setParam("http.connection.timeout", 5_000)
                        .setParam("http.socket.timeout", 30_000));
        Path runs = E2eRuns.freshDirectory("walking-skeleton");
        Path root = E2eRuns.root();
        mesh = LocalMesh.start(LocalMesh.Options.defaults(root)
                .withPods(2)
                .withRouterPort(0)
                .withRunDirectory(runs)
                .withSettings(Map.of("kvmesh.sim.prefill-micros-per-token", "100", "kvmesh.sim.decode-step-micros", "2000")),
                line -> { });
    }

    @AfterAll
    static void stopMesh() {
        if (mesh != null) {
            mesh.close();
        }
    }

    private static String completion(String prompt, int maxTokens, boolean stream) {
        return "{\"model\":\"kvmesh-sim\",\"prompt\":\"" + prompt + "\",\"max_tokens\":" + maxTokens + ",\"stream\":" + stream + "}";
    }

    private static Response complete(String baseUrl, String prompt) {
        return given().baseUri(baseUrl).contentType(ContentType.JSON).body(completion(prompt, 4, false))
                .post("/v1/completions").then().statusCode(200).extract().response();
    }

    @Test
    @Order(1)
    void requestsSharingAPrefixLandOnTheWarmPod() throws Exception {
        Response first = complete(mesh.routerUrl(), PREFIX);
        assertThat(first.jsonPath().getInt("usage.prompt_tokens")).isEqualTo(256);
        warmPod = first.header("x-kvmesh-pod");
        assertThat(warmPod).startsWith("runtime-");

        // The router learns the warm pod's blocks from Kafka; wait until its replica has them.
        await(() -> {
            Response explained = given().baseUri(mesh.routerUrl()).contentType(ContentType.JSON)
                    .body(completion(PREFIX + " follow-up", 4, false)).post("/router/explain").then().extract().response();
            return explained.jsonPath().getInt("ranked[0].matchedBlocks") >= 15
                    && warmPod.equals(explained.jsonPath().getString("ranked[0].podId"));
        }, Duration.ofSeconds(15));

        for (int i = 0; i < 10; i++) {
            Response response = complete(mesh.routerUrl(), PREFIX + " question " + i);
            assertThat(response.header("x-kvmesh-pod")).as("request %d", i).isEqualTo(warmPod);
            assertThat(response.jsonPath().getInt("usage.prompt_tokens_details.cached_tokens")).as("request %d", i)
                    .isGreaterThanOrEqualTo(240);
        }
    }

    @Test
    @Order(2)
    void roundRobinSpreadsTheSameRequests() {
        ServiceProcess roundRobin = mesh.startRouter("router-round-robin", "round-robin");
        Set<String> pods = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            pods.add(complete(roundRobin.url(), PREFIX + " spread " + i).header("x-kvmesh-pod"));
        }
        assertThat(pods).containsExactlyInAnyOrder("runtime-1", "runtime-2");
    }

    /**
     * An agent's turn that ends in a tool call pauses its session on the pod that served it; the session's next turn
     * (the context plus the tool's result) goes back there through the router, by its cached prefix, and resumes:
     * the pod counts the resume, which it can only do if the router passed the session header on.
     */
    @Test
    @Order(3)
    void aPausedSessionResumesOnItsPodThroughTheRouter() throws Exception {
        String context = "Agent session: plan the trip, then call the weather tool for each city on the list. ".repeat(3);
        Response first = given().baseUri(mesh.routerUrl()).contentType(ContentType.JSON).header("x-kvmesh-session", "agent-7")
                .body("{\"model\":\"kvmesh-sim\",\"prompt\":\"" + context + "\",\"max_tokens\":8,\"kvmesh_tool_call\":\"weather\"}")
                .post("/v1/completions").then().statusCode(200)
                .body("choices[0].finish_reason", org.hamcrest.Matchers.equalTo("tool_calls")).extract().response();
        String pod = first.header("x-kvmesh-pod");
        String resumed = context + first.jsonPath().getString("choices[0].text") + " Weather: sunny, 21 C.";
        await(() -> pod.equals(given().baseUri(mesh.routerUrl()).contentType(ContentType.JSON)
                .body(completion(resumed, 4, false)).post("/router/explain").then().extract().path("ranked[0].podId")),
                Duration.ofSeconds(15));
        Response second = given().baseUri(mesh.routerUrl()).contentType(ContentType.JSON).header("x-kvmesh-session", "agent-7")
                .body(completion(resumed, 4, false)).post("/v1/completions").then().statusCode(200).extract().response();
        assertThat(second.header("x-kvmesh-pod")).isEqualTo(pod);
        assertThat(second.jsonPath().getInt("usage.prompt_tokens_details.cached_tokens"))
                .isEqualTo((1 + context.length() + 8 - 1) / 16 * 16);
        String podUrl = mesh.runtimes().stream().filter(runtime -> runtime.name().equals(pod)).findFirst().orElseThrow().url();
        String metrics = given().baseUri(podUrl).get("/metrics").then().statusCode(200).extract().asString();
        assertThat(metrics).containsPattern("kvmesh_lamps_resumed_total\\{model_name=\"kvmesh-sim\"\\} [1-9]");
    }

    /**
     * Active-active: a second prefix-aware replica, started late, bootstraps from kv-index, tails the events, and once
     * caught up ranks every request exactly as the first replica does.
     */
    @Test
    @Order(2)
    void twoRouterReplicasAgreeOnceCaughtUp() throws Exception {
        ServiceProcess replica = mesh.startRouter("router-replica", "prefix-aware");
        List<String> prompts = List.of(PREFIX + " replica a", PREFIX.substring(0, 100) + " replica b", "unrelated replica c");
        await(() -> prompts.stream().allMatch(prompt -> explain(mesh.routerUrl(), prompt).equals(explain(replica.url(), prompt))),
                Duration.ofSeconds(15));
        assertThat(explain(replica.url(), prompts.getFirst()).getFirst()).startsWith(warmPod + ":");
    }

    /** The replica's ranking of a request: "podId:matchedBlocks" best first. */
    private static List<String> explain(String baseUrl, String prompt) {
        Response explained = given().baseUri(baseUrl).contentType(ContentType.JSON).body(completion(prompt, 4, false))
                .post("/router/explain").then().statusCode(200).extract().response();
        List<String> pods = explained.jsonPath().getList("ranked.podId");
        List<Integer> matched = explained.jsonPath().getList("ranked.matchedBlocks");
        return java.util.stream.IntStream.range(0, pods.size()).mapToObj(i -> pods.get(i) + ":" + matched.get(i)).toList();
    }

    @Test
    @Order(3)
    void streamingWorksThroughTheRouter() {
        String body = given().baseUri(mesh.routerUrl()).contentType(ContentType.JSON)
                .body("{\"model\":\"kvmesh-sim\",\"messages\":[{\"role\":\"user\",\"content\":\"stream please\"}],\"max_tokens\":6,\"stream\":true}")
                .post("/v1/chat/completions").then().statusCode(200)
                .header("x-kvmesh-pod", notNullValue())
                .extract().asString();
        List<String> events = body.lines().filter(line -> !line.isBlank()).toList();
        assertThat(events).hasSize(6 + 2);
        assertThat(events).allMatch(line -> line.startsWith("data: "));
        assertThat(events.getLast()).isEqualTo("data: [DONE]");
    }

    @Test
    @Order(4)
    void badInputGetsOpenAiErrorsFromTheRouter() {
        record Case(String path, String body, int status, String param) {
        }
        for (Case c : List.of(
                new Case("/v1/completions", "{\"model\":", 400, null),
                new Case("/v1/completions", "{\"model\":\"kvmesh-sim\"}", 400, "prompt"),
                new Case("/v1/chat/completions", "{\"model\":\"kvmesh-sim\"}", 400, "messages"),
                new Case("/v1/completions", completion("x", 0, false), 400, "max_tokens"),
                new Case("/v1/completions", "{\"model\":\"no-such-model\",\"prompt\":\"x\"}", 404, "model"))) {
            given().baseUri(mesh.routerUrl()).contentType(ContentType.JSON).body(c.body()).post(c.path()).then()
                    .statusCode(c.status())
                    .contentType(ContentType.JSON)
                    .body("error.type", equalTo("invalid_request_error"))
                    .body("error.param", equalTo(c.param()))
                    .body("error.message", notNullValue());
        }
    }

    @Test
    @Order(5)
    void aKilledPodLeavesTheIndexAndTrafficMovesToTheSurvivor() throws Exception {
        ServiceProcess warm = mesh.runtimes().stream().filter(p -> p.name().equals(warmPod)).findFirst().orElseThrow();
        String survivor = warmPod.equals("runtime-1") ? "runtime-2" : "runtime-1";
        warm.kill();
        long killedAt = System.nanoTime();
        await(() -> given().baseUri(mesh.routerUrl()).get("/router/stats").then().extract().jsonPath().getInt("livePods") == 1,
                Duration.ofSeconds(10));
        Duration gone = Duration.ofNanos(System.nanoTime() - killedAt);
        // Heartbeat timeout is 3 s; allow the follower's poll and the last heartbeat's age on top.
        assertThat(gone).isLessThan(Duration.ofSeconds(6));
        Response explained = given().baseUri(mesh.routerUrl()).contentType(ContentType.JSON)
                .body(completion(PREFIX + " after", 4, false)).post("/router/explain").then().extract().response();
        assertThat(explained.jsonPath().getList("ranked.podId")).containsExactly(survivor);
        for (int i = 0; i < 3; i++) {
            assertThat(complete(mesh.routerUrl(), PREFIX + " after " + i).header("x-kvmesh-pod")).isEqualTo(survivor);
        }

        mesh.runtimes().stream().filter(p -> p.name().equals(survivor)).findFirst().orElseThrow().kill();
        await(() -> given().baseUri(mesh.routerUrl()).get("/router/stats").then().extract().jsonPath().getInt("livePods") == 0,
                Duration.ofSeconds(10));
        given().baseUri(mesh.routerUrl()).contentType(ContentType.JSON).body(completion("x", 2, false))
                .post("/v1/completions").then().statusCode(503)
                .body("error.message", notNullValue());
    }

    private static void await(BooleanSupplier condition, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition not met within %s", timeout).isLessThan(deadline);
            Thread.sleep(100);
        }
    }
}
