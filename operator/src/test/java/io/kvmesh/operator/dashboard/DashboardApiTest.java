package io.kvmesh.operator.dashboard;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.notNullValue;

import java.time.Duration;
import java.util.List;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.kvmesh.kafka.broker.quarkus.KafkaBrokerTestResource;
import io.kvmesh.operator.crd.v1alpha1.InferencePool;
import io.kvmesh.operator.testing.KubeApiServerTestResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;

/** {@code /api/pools} on a running operator with a real kube-apiserver, its errors, and the page's entry points. */
@QuarkusTest
@QuarkusTestResource(KubeApiServerTestResource.class)
@QuarkusTestResource(KafkaBrokerTestResource.class)
@QuarkusTestResource(DashboardTestResource.class)
class DashboardApiTest {

    private static final String NAMESPACE = "dashboard-api";
    private static final String NAME = "tiny";

    @Inject
    KubernetesClient client;

    @BeforeEach
    void aPoolExists() {
        assertThat(NAMESPACE + "/" + NAME).isEqualTo(DashboardTestResource.API_POOL);
        client.resource(new NamespaceBuilder().withNewMetadata().withName(NAMESPACE).endMetadata().build()).serverSideApply();
        if (client.resources(InferencePool.class).inNamespace(NAMESPACE).withName(NAME).get() == null) {
            // No broker listens on this port: the pool exists, its Kafka does not.
            client.resource(TestPools.pool(NAMESPACE, NAME, 1, "127.0.0.1:1", null)).create();
        }
    }

    @Test
    void listsEveryPoolWithItsSpecStatusAndTelemetry() throws InterruptedException {
        awaitReconciled();
        given().get("/api/pools").then().statusCode(200).contentType(ContentType.JSON)
                .header("cache-control", "no-store")
                .body("generatedAt", notNullValue())
                .body("pools.find { it.name == 'tiny' }.namespace", equalTo(NAMESPACE))
                .body("pools.find { it.name == 'tiny' }.generation", equalTo(1))
                .body("pools.find { it.name == 'tiny' }.spec.modelId", equalTo("llama-3.2-1b-instruct"))
                .body("pools.find { it.name == 'tiny' }.spec.replicas", equalTo(1))
                .body("pools.find { it.name == 'tiny' }.spec.backend", equalTo("sim"))
                .body("pools.find { it.name == 'tiny' }.spec.routingPolicy", equalTo("prefix-aware"))
                .body("pools.find { it.name == 'tiny' }.spec.routerReplicas", equalTo(1))
                .body("pools.find { it.name == 'tiny' }.status.endpoint", equalTo("http://tiny-router.dashboard-api.svc:8080/v1"))
                .body("pools.find { it.name == 'tiny' }.status.conditions.type", equalTo(List.of("Ready", "Progressing", "Degraded")))
                .body("pools.find { it.name == 'tiny' }.status.conditions.find { it.type == 'Degraded' }.reason", equalTo("KafkaUnreachable"))
                .body("pools.find { it.name == 'tiny' }.status.conditions.find { it.type == 'Degraded' }.message", containsString("127.0.0.1:1"))
                .body("pools.find { it.name == 'tiny' }.status.conditions.lastTransitionTime", not(hasItem((Object) null)))
                .body("pools.find { it.name == 'tiny' }.telemetry.followed", equalTo(true))
                .body("pools.find { it.name == 'tiny' }.telemetry.heartbeatTimeoutMillis", equalTo(5000))
                .body("pools.find { it.name == 'tiny' }.pods", equalTo(List.of()))
                .body("pools.find { it.name == 'tiny' }.history.ts", equalTo(List.of()))
                .body("pools.find { it.name == 'tiny' }.routingMix.prefix", equalTo(640));
    }

    @Test
    void servesOnePoolByNamespaceAndName() {
        given().get("/api/pools/" + NAMESPACE + "/" + NAME).then().statusCode(200).contentType(ContentType.JSON)
                .body("namespace", equalTo(NAMESPACE)).body("name", equalTo(NAME))
                .body("spec.modelId", equalTo("llama-3.2-1b-instruct"));
    }

    @Test
    void anUnknownPoolIsAJson404() {
        given().get("/api/pools/" + NAMESPACE + "/nope").then().statusCode(404).contentType(ContentType.JSON)
                .body("error.type", equalTo("not_found"))
                .body("error.message", equalTo("No InferencePool nope in namespace dashboard-api."));
    }

    @Test
    void anUnknownApiPathIsAJson404WithoutAStackTrace() {
        for (String path : List.of("/api/nothing", "/api/pools/dashboard-api", "/api/pools/dashboard-api/tiny/pods", "/api/")) {
            given().get(path).then().statusCode(404).contentType(ContentType.JSON)
                    .body("error.type", equalTo("not_found"))
                    .body("error.message", containsString("GET /api/pools"))
                    .body(not(containsString("at io.")));
        }
        given().post("/api/pools").then().statusCode(404).contentType(ContentType.JSON)
                .body("error.message", containsString("No API at POST /api/pools"));
    }

    @Test
    void aPathThatCannotNameAPoolIsA400() {
        given().get("/api/pools/Not_A_Namespace/tiny").then().statusCode(400).contentType(ContentType.JSON)
                .body("error.type", equalTo("invalid_request"))
                .body("error.message", containsString("'Not_A_Namespace/tiny' is not a namespace and name"));
    }

    @Test
    void theRootAndDashboardRedirectToThePage() {
        for (String path : List.of("/", "/dashboard")) {
            given().redirects().follow(false).get(path).then().statusCode(302).header("location", "/dashboard/");
        }
    }

    @Test
    void thePageAndItsAssetsComeFromTheOperatorAlone() {
        String html = given().get("/dashboard/").then().statusCode(200).contentType(containsString("text/html"))
                .extract().asString();
        assertThat(html).contains("src=\"dashboard.js\"").contains("href=\"dashboard.css\"");
        for (String asset : List.of("/dashboard/", "/dashboard/dashboard.js", "/dashboard/dashboard.css")) {
            String text = given().get(asset).then().statusCode(200).extract().asString();
            // Nothing from a CDN or a font service: no absolute URL but the SVG namespace, no @import.
            assertThat(text.replace("http://www.w3.org/2000/svg", "")).as(asset)
                    .doesNotContainPattern("(?i)(https?:)?//[a-z0-9.-]+\\.[a-z]{2,}/").doesNotContain("@import");
        }
    }

    /** Until the operator has written the pool's conditions and scraped its routers once. */
    private void awaitReconciled() throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        String last = null;
        while (System.nanoTime() < deadline) {
            JsonPath pool = given().get("/api/pools/" + NAMESPACE + "/" + NAME).jsonPath();
            last = pool.prettify();
            if (pool.getList("status.conditions").size() == 3 && !pool.getMap("routingMix").isEmpty()) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError(NAMESPACE + "/" + NAME + " was not reconciled within 60 s: " + last);
    }
}
