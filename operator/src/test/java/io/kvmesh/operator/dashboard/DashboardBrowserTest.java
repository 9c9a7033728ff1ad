package io.kvmesh.operator.dashboard;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.kvmesh.kafka.broker.quarkus.KafkaBrokerTestResource;
import io.kvmesh.operator.testing.KubeApiServerTestResource;
import io.kvmesh.prefix.events.BlockUsage;
import io.kvmesh.prefix.events.PodStatus;
import io.kvmesh.prefix.events.PoolTopics;
import io.kvmesh.streams.PodEventPublisher;
import io.kvmesh.streams.StreamSettings;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;

/**
 * The dashboard in a real browser against a running operator: a pool created on a real kube-apiserver, reconciled by
 * the operator, whose pods send real heartbeats through a real Kafka broker; headless Chromium loads the page and the
 * test reads the DOM the page's scripts built. The screenshot and that DOM are build artifacts
 * ({@code target/dashboard-screenshot.png}, {@code target/dashboard-dom.html}); {@code -Dkvmesh.update-screenshot=true} also copies it to
 * {@code operator/dashboard.png}, the README's.
 */
@QuarkusTest
@QuarkusTestResource(KubeApiServerTestResource.class)
@QuarkusTestResource(KafkaBrokerTestResource.class)
@QuarkusTestResource(DashboardTestResource.class)
class DashboardBrowserTest {

    private static final String NAMESPACE = "dashboard-browser";
    private static final String NAME = "llama-chat";
    private static final String POOL = NAMESPACE + "/" + NAME;
    private static final String TOPIC_PREFIX = "kvmesh.dashboard-browser.llama-chat";
    private static final List<String> PODS = List.of("llama-chat-runtime-7d9f-0", "llama-chat-runtime-7d9f-1");
    private static final Duration SCRIPT_TIME = Duration.ofSeconds(3);
    private static final Path SCREENSHOT = Path.of("target", "dashboard-screenshot.png");
    private static final Path DOM = Path.of("target", "dashboard-dom.html");
    private static final Path README_SCREENSHOT = Path.of("dashboard.png");
    private static final boolean UPDATE_SCREENSHOT = Boolean.getBoolean("kvmesh.update-screenshot");

    @Inject
    KubernetesClient client;

    @ConfigProperty(name = "kvmesh.kafka.bootstrap-servers")
    String bootstrapServers;

    @TestHTTPResource("/dashboard/")
    URL page;

    @Test
    void thePageShowsThePoolItsConditionsPodsChartsAndRoutingMix() throws Exception {
        HeadlessChromium chromium = HeadlessChromium.installed();
        assertThat(POOL).isEqualTo(DashboardTestResource.BROWSER_POOL);
        client.resource(new NamespaceBuilder().withNewMetadata().withName(NAMESPACE).endMetadata().build()).serverSideApply();
        client.resource(TestPools.pool(NAMESPACE, NAME, 2, bootstrapServers, TOPIC_PREFIX)).create();
        // The first reconcile creates the pool's topics and starts following its pod-status.
        awaitPool("reconciled", pool -> pool.getList("status.conditions").size() == 3 && pool.getBoolean("telemetry.followed"));

        ScheduledExecutorService pods = Executors.newSingleThreadScheduledExecutor();
        try (PodEventPublisher publisher = new PodEventPublisher(new StreamSettings(bootstrapServers,
                new PoolTopics(TOPIC_PREFIX), 4, Duration.ofHours(1), false))) {
            long start = System.currentTimeMillis();
            pods.scheduleAtFixedRate(() -> heartbeats(publisher, start), 0, 500, TimeUnit.MILLISECONDS);
            // The operator samples every 2 s: the test needs a few points per line, the README's picture a minute.
            int samples = UPDATE_SCREENSHOT ? 30 : 4;
            awaitPool("showing both pods, " + samples + " samples and the routing mix", pool -> pool.getList("pods").size() == 2
                    && pool.getList("history.ts").size() >= samples && pool.getMap("routingMix").size() == 4);

            HeadlessChromium.Result loaded = chromium.dumpDom(page.toString(), SCRIPT_TIME);
            Files.writeString(DOM, loaded.stdout());
            assertThat(loaded.uncaughtErrors()).as("script errors").isEmpty();
            assertThePage(loaded.stdout());
            // This namespace only: the API test's pool, if it ran first, would push this one off the picture.
            chromium.screenshot(page + "?namespace=" + NAMESPACE, SCRIPT_TIME, SCREENSHOT, 1400, 1000);
        } finally {
            pods.shutdownNow();
        }
        byte[] png = Files.readAllBytes(SCREENSHOT);
        assertThat(png).startsWith((byte) 0x89, (byte) 'P', (byte) 'N', (byte) 'G');
        assertThat(png.length).as("screenshot bytes").isGreaterThan(20_000);
        if (UPDATE_SCREENSHOT) {
            Files.copy(SCREENSHOT, README_SCREENSHOT, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    @Test
    void anUnreachableApiShowsABanner(@TempDir Path dir) throws Exception {
        HeadlessChromium chromium = HeadlessChromium.installed();
        // The page without its operator: opened from files, its read of ../api/pools fails.
        Path copy = Files.createDirectories(dir.resolve("dashboard"));
        for (String asset : List.of("index.html", "dashboard.js", "dashboard.css")) {
            try (InputStream in = getClass().getResourceAsStream("/META-INF/resources/dashboard/" + asset)) {
                Files.copy(in, copy.resolve(asset));
            }
        }

        String dom = chromium.dumpDom(copy.resolve("index.html").toUri().toString(), SCRIPT_TIME).stdout();

        assertThat(openingTag(dom, "id", "dashboard")).contains("data-state=\"unreachable\"");
        assertThat(openingTag(dom, "id", "connection-banner")).doesNotContain("hidden");
        assertThat(element(dom, "div", "id", "connection-banner"))
                .contains("cannot be reached").contains("/api/pools").contains("retrying every 2 s");
        assertThat(element(dom, "time", "id", "last-updated")).contains(">never<");
    }

    private void assertThePage(String dom) {
        assertThat(openingTag(dom, "id", "dashboard")).contains("data-state=\"live\"");
        assertThat(openingTag(dom, "id", "connection-banner")).contains("hidden");
        assertThat(openingTag(dom, "id", "last-updated")).containsPattern("datetime=\"\\d{4}-\\d\\d-\\d\\dT");

        // The kubectl get kvpool row.
        String row = element(dom, "tr", "data-pool", POOL);
        assertThat(row).contains(">" + NAMESPACE + "<").contains(">" + NAME + "<").contains(">prefix-aware<");
        assertThat(element(row, "td", "data-column", "pods")).contains(">0/2<");
        assertThat(element(row, "td", "data-column", "ready")).contains(">False<");

        String card = element(dom, "section", "data-pool-detail", POOL);
        assertThat(card).contains("model llama-3.2-1b-instruct").contains("2 replicas").contains("backend sim");
        // No kubelet runs pods here, so no router is ever ready.
        assertThat(openingTag(card, "data-condition", "Ready"))
                .contains("data-status=\"False\"").contains("data-reason=\"NoRouterReady\"");
        assertThat(element(card, "li", "data-condition", "Ready")).contains("no router pod is ready yet");
        for (String type : List.of("Progressing", "Degraded")) {
            assertThat(openingTag(card, "data-condition", type)).containsPattern("data-status=\"(True|False)\"")
                    .containsPattern("data-reason=\"[A-Z][A-Za-z]+\"");
        }

        for (int i = 0; i < PODS.size(); i++) {
            String pod = element(card, "tr", "data-pod", PODS.get(i));
            assertThat(pod).contains("data-ready=\"true\"").contains(">10.1.0." + (i + 1) + ":8000<").contains("s ago");
            assertThat(element(pod, "td", "data-column", "kv-usage")).containsPattern("\\d+(\\.\\d)?%");
        }

        assertThat(points(openingTag(card, "data-chart", "cache"), "data-points")).isGreaterThanOrEqualTo(4);
        for (String series : List.of("kvCacheUsage", "prefixHitRate", "requestsPerSecond")) {
            String line = openingTag(card, "data-series", series);
            assertThat(points(line, "data-points")).as(series).isGreaterThanOrEqualTo(4);
            Matcher coordinates = Pattern.compile("\\spoints=\"([^\"]*)\"").matcher(line);
            assertThat(coordinates.find()).as(series + " has points").isTrue();
            assertThat(coordinates.group(1).split(" ")).as(series).hasSizeGreaterThanOrEqualTo(4)
                    .allMatch(xy -> xy.matches("\\d+(\\.\\d)?,\\d+(\\.\\d)?"));
        }

        String mix = openingTag(card, "data-routing-mix", POOL);
        long total = DashboardTestResource.DECISIONS.values().stream().mapToLong(Long::longValue).sum();
        assertThat(points(mix, "data-total")).isEqualTo(total);
        for (Map.Entry<String, Long> decision : DashboardTestResource.DECISIONS.entrySet()) {
            assertThat(openingTag(card, "data-reason", decision.getKey()))
                    .contains("data-count=\"" + decision.getValue() + "\"").contains("width:");
        }
    }

    /** Pod i, every 500 ms as runtime pods do: KV usage and hit rate in slow waves, a few requests and tokens a second. */
    private static void heartbeats(PodEventPublisher publisher, long start) {
        long now = System.currentTimeMillis();
        double t = (now - start) / 1000.0;
        for (int i = 0; i < PODS.size(); i++) {
            double wave = Math.sin(t * 0.35 + i * 1.7);
            long used = Math.round(4096 * (0.45 + 0.25 * wave));
            double hitRate = 0.6 + 0.25 * Math.cos(t * 0.25 + i);
            publisher.publish(new PodStatus(PODS.get(i), 1, "10.1.0." + (i + 1) + ":8000", "llama-3.2-1b-instruct", 16,
                    true, 3 + i, i, 0, new BlockUsage(used, 4096), new BlockUsage(0, 0), hitRate,
                    180 + 40 * wave, 4 + 1.5 * wave, now));
        }
    }

    private static void awaitPool(String what, Predicate<JsonPath> until) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        String last = null;
        while (System.nanoTime() < deadline) {
            var response = given().get("/api/pools/" + POOL);
            last = response.asString();
            if (response.statusCode() == 200 && until.test(response.jsonPath())) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the pool was not " + what + " within 90 s; /api/pools/" + POOL + " said: " + last);
    }

    private static long points(String openingTag, String attribute) {
        Matcher m = Pattern.compile(attribute + "=\"(\\d+)\"").matcher(openingTag);
        assertThat(m.find()).as(attribute + " in " + openingTag).isTrue();
        return Long.parseLong(m.group(1));
    }

    /** The opening tag of the first element whose {@code attribute} is {@code value}. */
    static String openingTag(String html, String attribute, String value) {
        Matcher m = Pattern.compile("<[a-z]+\\b[^>]*\\s" + attribute + "=\"" + Pattern.quote(value) + "\"[^>]*>").matcher(html);
        assertThat(m.find()).as("an element with " + attribute + "=\"" + value + "\"").isTrue();
        return m.group();
    }

    /** The first {@code tag} element whose {@code attribute} is {@code value}, up to its closing tag (not nested). */
    static String element(String html, String tag, String attribute, String value) {
        String open = openingTag(html, attribute, value);
        int start = html.indexOf(open);
        assertThat(open).as("the element with " + attribute + "=\"" + value + "\"").startsWith("<" + tag);
        int depth = 0;
        Matcher tags = Pattern.compile("<(/?)" + tag + "\\b").matcher(html);
        tags.region(start, html.length());
        while (tags.find()) {
            depth += tags.group(1).isEmpty() ? 1 : -1;
            if (depth == 0) {
                return html.substring(start, html.indexOf('>', tags.end()) + 1);
            }
        }
        throw new AssertionError("no closing </" + tag + "> for " + open);
    }
}
