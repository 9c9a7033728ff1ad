package io.kvmesh.e2e;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.kvmesh.e2e.local.LocalMesh;
import io.restassured.http.ContentType;
import io.restassured.response.ValidatableResponse;

/**
 * Tenants end to end on real processes: a router with two tenants (API keys from configuration) in front of one sim
 * pod. The same prompt under two tenants shares no cached block (the tenant's salt enters every block hash, in the
 * router's hashing and, through the forwarded {@code cache_salt}, in the pod's); within a tenant it is cached; a
 * missing or wrong key is a 401 with OpenAI's error body, before anything reaches a pod.
 */
class TenantIsolationTest {

    /** 255 ASCII characters: with BOS, 16 full blocks of 16 byte tokens. */
    private static final String PROMPT = "Quarterly figures for the board: revenue, margin, churn and the hiring plan, in that order. "
            .repeat(3).substring(0, 255);

    private static LocalMesh mesh;

    @BeforeAll
    static void startMesh() {
        io.restassured.RestAssured.config = io.restassured.RestAssured.config().httpClient(
                io.restassured.config.HttpClientConfig.httpClientConfig()
                        .setParam("http.connection.timeout", 5_000)
                        .setParam("http.socket.timeout", 30_000));
        Path root = E2eRuns.root();
        mesh = LocalMesh.start(LocalMesh.Options.defaults(root)
                .withPods(1)
                .withRouterPort(0)
                .withRunDirectory(Path.of("target/e2e-runs/tenants").toAbsolutePath())
                .withSettings(Map.of("kvmesh.sim.prefill-micros-per-token", "100", "kvmesh.sim.decode-step-micros", "2000"))
                .withRouterSettings(Map.of(
                        "kvmesh.tenants.acme.api-keys", "sk-acme-1,sk-acme-2",
                        "kvmesh.tenants.globex.api-keys", "sk-globex",
                        "kvmesh.tenants.globex.cache-salt", "globex-salt")),
                line -> { });
    }

    @AfterAll
    static void stopMesh() {
        if (mesh != null) {
            mesh.close();
        }
    }

    private static ValidatableResponse complete(String apiKey, String clientSalt) {
        String salt = clientSalt == null ? "" : ",\"cache_salt\":\"" + clientSalt + "\"";
        var request = given().baseUri(mesh.routerUrl()).contentType(ContentType.JSON)
                .body("{\"model\":\"kvmesh-sim\",\"prompt\":\"" + PROMPT + "\",\"max_tokens\":2" + salt + "}");
        if (apiKey != null) {
            request = request.header("Authorization", "Bearer " + apiKey);
        }
        return request.post("/v1/completions").then();
    }

    @Test
    void tenantsNeverShareCachedBlocksAndKeysAreRequired() {
        complete("sk-acme-1", null).statusCode(200).body("usage.prompt_tokens_details.cached_tokens", equalTo(0));
        // The other tenant, same prompt, same pod: nothing cached for it — even when it claims acme's salt.
        complete("sk-globex", "acme").statusCode(200).body("usage.prompt_tokens_details.cached_tokens", equalTo(0));
        // Acme again, with its other key: its blocks are there.
        complete("sk-acme-2", null).statusCode(200)
                .body("usage.prompt_tokens_details.cached_tokens", greaterThanOrEqualTo(240));

        complete(null, null).statusCode(401).contentType(ContentType.JSON)
                .body("error.code", equalTo("invalid_api_key"))
                .body("error.type", equalTo("invalid_request_error"));
        complete("sk-wrong", null).statusCode(401).body("error.code", equalTo("invalid_api_key"));
    }
}
