package io.kvmesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.kvmesh.e2e.local.LocalMesh;
import io.kvmesh.e2e.local.ServiceProcess;

/**
 * A seeded bad-input fuzzer against a real mesh (Kafka, cache index, router, one sim pod): more than 10,000 malformed
 * or hostile requests (broken JSON, random bytes, invalid UTF-8, wrong types for every field, out-of-range numbers,
 * empty and huge prompts, deep nesting, unknown fields, duplicate keys, wrong content types, unknown paths and
 * methods, an oversized body) go to the router and straight to the pod, plus slow-loris connections on raw sockets.
 * No answer may be a 5xx, every 4xx on {@code /v1/*} must be an OpenAI-style JSON error, no service may die, and a
 * valid request must still succeed afterwards (and during the slow-loris phase).
 */
class BadInputFuzzTest {

    private static final long SEED = Long.getLong("kvmesh.fuzz.seed", 0x6b766d657368L);
    private static final int REQUESTS = Integer.getInteger("kvmesh.fuzz.requests", 10_400);
    private static final int IN_FLIGHT = 16;
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);
    private static final String MODEL = "kvmesh-sim";
    private static final ObjectMapper JSON = new ObjectMapper();

    private static LocalMesh mesh;
    private static HttpClient http;

    @BeforeAll
    static void startMesh() throws Exception {
        Path runs = E2eRuns.freshDirectory("bad-input-fuzz");
        Path root = E2eRuns.root();
        mesh = LocalMesh.start(LocalMesh.Options.defaults(root)
                .withPods(1)
                .withRouterPort(0)
                .withRunDirectory(runs)
                .withSettings(Map.of("kvmesh.sim.prefill-micros-per-token", "1", "kvmesh.sim.decode-step-micros", "100")),
                line -> { });
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stopMesh() {
        if (http != null) {
            http.close();
        }
        if (mesh != null) {
            mesh.close();
        }
    }

    /** One fuzz request: where it goes and what it carries; {@code contentType} null sends none. */
    record Case(String kind, String method, String path, String contentType, byte[] body) {

        String describe() {
            String text = new String(body, StandardCharsets.UTF_8);
            if (text.length() > 300) {
                text = text.substring(0, 300) + "... (" + body.length + " bytes)";
            }
            return kind + " " + method + " " + path + " [" + contentType + "] " + text.replaceAll("\\p{Cntrl}", "?");
        }
    }

    @Test
    void hostileInputNeverGetsA5xxNorKillsAService() throws Exception {
        long started = System.nanoTime();
        System.out.println("BadInputFuzzTest seed=" + SEED + " (rerun with -Dkvmesh.fuzz.seed=" + SEED + ")");
        ServiceProcess pod = mesh.runtimes().getFirst();
        Map<String, String> targets = Map.of("router", mesh.routerUrl(), "pod", pod.url());
        assertValidCompletion(mesh.routerUrl());
        assertValidCompletion(pod.url());

        SplittableRandom random = new SplittableRandom(SEED);
        Map<String, Map<String, LongAdder>> byStatus = new ConcurrentHashMap<>();
        Map<String, LongAdder> sent = new ConcurrentHashMap<>();
        List<String> failures = Collections.synchronizedList(new ArrayList<>());
        List<String> nonJson4xx = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger failureCount = new AtomicInteger();
        Semaphore slots = new Semaphore(IN_FLIGHT);
        List<CompletableFuture<?>> pending = new ArrayList<>();

        for (int i = 0; i < REQUESTS; i++) {
            String target = (i & 1) == 0 ? "router" : "pod";
            Case c = generate(random, i);
            slots.acquire();
            sent.computeIfAbsent(target, t -> new LongAdder()).increment();
            HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(targets.get(target) + c.path()))
                    .timeout(REQUEST_TIMEOUT)
                    .method(c.method(), c.body().length == 0 && !c.method().equals("POST")
                            ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(c.body()));
            if (c.contentType() != null) {
                builder.header("Content-Type", c.contentType());
            }
            int index = i;
            pending.add(http.sendAsync(builder.build(), HttpResponse.BodyHandlers.ofString()).whenComplete((response, error) -> {
                try {
                    if (error != null) {
                        failureCount.incrementAndGet();
                        failures.add("#" + index + " " + target + ": " + error + " for " + c.describe());
                        return;
                    }
                    check(target, index, c, response, byStatus, failures, nonJson4xx, failureCount);
                } finally {
                    slots.release();
                }
            }));
            // Drop finished futures now and then so the list stays small.
            if (pending.size() > 256) {
                pending.removeIf(CompletableFuture::isDone);
            }
        }
        CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).handle((ok, error) -> null).get(60, TimeUnit.SECONDS);
        long fuzzed = System.nanoTime();

        // One body over the 8 MiB limit per target: refused as too large (or unreadable), never a 5xx.
        List<String> oversized = new ArrayList<>();
        for (var target : targets.entrySet()) {
            byte[] body = oversizedBody();
            sent.computeIfAbsent(target.getKey(), t -> new LongAdder()).increment();
            try {
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(target.getValue() + "/v1/completions"))
                        .timeout(REQUEST_TIMEOUT).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
                oversized.add(target.getKey() + "=" + response.statusCode());
                assertThat(response.statusCode()).as("%s: body of %d bytes: %s", target.getKey(), body.length, response.body())
                        .isIn(400, 413);
                assertOpenAiError(response.body(), response.headers().firstValue("content-type").orElse(""));
                byStatus.computeIfAbsent(target.getKey(), t -> new ConcurrentHashMap<>())
                        .computeIfAbsent(response.statusCode() / 100 + "xx", s -> new LongAdder()).increment();
            } catch (IOException e) {
                // A server may answer 413 and close before the client has written the whole body; the client then
                // only sees the connection go. That is not a 5xx, and the service must still be alive (checked below).
                oversized.add(target.getKey() + "=" + e.getClass().getSimpleName());
                byStatus.computeIfAbsent(target.getKey(), t -> new ConcurrentHashMap<>())
                        .computeIfAbsent("closed", s -> new LongAdder()).increment();
            }
        }

        String slowLoris = slowLoris(targets, failures);
        long ended = System.nanoTime();

        List<ServiceProcess> services = new ArrayList<>(mesh.runtimes());
        services.add(mesh.router());
        services.add(mesh.cacheIndex());
        for (ServiceProcess service : services) {
            assertThat(service.isAlive()).as("%s is alive after the fuzz (log: %s)", service.name(), service.log()).isTrue();
        }
        assertValidCompletion(mesh.routerUrl());
        assertValidCompletion(pod.url());

        long total = sent.values().stream().mapToLong(LongAdder::sum).sum();
        System.out.printf("BadInputFuzzTest: seed=%d sent=%d %s statuses=%s oversized=%s slowloris=[%s] fuzz=%.1fs total=%.1fs%n",
                SEED, total, new TreeMap<>(sent), summary(byStatus), oversized, slowLoris,
                (fuzzed - started) / 1e9, (ended - started) / 1e9);
        if (!nonJson4xx.isEmpty()) {
            System.out.println("BadInputFuzzTest: non-JSON 4xx outside /v1/*: " + nonJson4xx.size() + ", e.g. "
                    + nonJson4xx.subList(0, Math.min(3, nonJson4xx.size())));
        }
        if (!failures.isEmpty()) {
            System.out.println("BadInputFuzzTest: error lines in the services' logs:\n" + errorLines());
        }
        assertThat(failures).as("%d failures (first 20 shown)", failureCount.get())
                .isEmpty();
        assertThat(total).isGreaterThanOrEqualTo(10_000);
    }

    private static void check(String target, int index, Case c, HttpResponse<String> response,
            Map<String, Map<String, LongAdder>> byStatus, List<String> failures, List<String> nonJson4xx, AtomicInteger failureCount) {
        int status = response.statusCode();
        byStatus.computeIfAbsent(target, t -> new ConcurrentHashMap<>())
                .computeIfAbsent(status / 100 + "xx", s -> new LongAdder()).increment();
        if (status >= 500) {
            failureCount.incrementAndGet();
            if (failures.size() < 20) {
                failures.add("#" + index + " " + target + " -> " + status + " " + truncate(response.body()) + " for " + c.describe());
            }
            return;
        }
        if (status >= 400 && !c.method().equals("HEAD")) {
            String contentType = response.headers().firstValue("content-type").orElse("");
            try {
                assertOpenAiError(response.body(), contentType);
            } catch (AssertionError | RuntimeException e) {
                // "/v1/%2e%2e/x" is normalised by the server to "/x": not an OpenAI path.
                if (c.path().startsWith("/v1/") && !c.path().contains("%2e")) {
                    failureCount.incrementAndGet();
                    if (failures.size() < 20) {
                        failures.add("#" + index + " " + target + " -> " + status + " not an OpenAI error ["
                                + contentType + "] " + truncate(response.body()) + " for " + c.describe());
                    }
                } else {
                    nonJson4xx.add(c.method() + " " + c.path() + " -> " + status);
                }
            }
        }
    }

    private static void assertOpenAiError(String body, String contentType) {
        assertThat(contentType).as("content-type").startsWith("application/json");
        JsonNode error;
        try {
            error = JSON.readTree(body).get("error");
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + truncate(body), e);
        }
        assertThat(error).as("error object in %s", truncate(body)).isNotNull();
        assertThat(error.isObject()).as("error object in %s", truncate(body)).isTrue();
        assertThat(error.path("message").isTextual()).as("error.message in %s", truncate(body)).isTrue();
        assertThat(error.path("type").isTextual()).as("error.type in %s", truncate(body)).isTrue();
    }

    private static String truncate(String text) {
        return text == null ? "null" : text.length() > 300 ? text.substring(0, 300) + "..." : text;
    }

    private static String summary(Map<String, Map<String, LongAdder>> byStatus) {
        Map<String, Map<String, Long>> out = new TreeMap<>();
        byStatus.forEach((target, counts) -> {
            Map<String, Long> sorted = new TreeMap<>();
            counts.forEach((status, count) -> sorted.put(status, count.sum()));
            out.put(target, sorted);
        });
        return out.toString();
    }

    private static void assertValidCompletion(String baseUrl) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(baseUrl + "/v1/completions"))
                .timeout(REQUEST_TIMEOUT).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + MODEL + "\",\"prompt\":\"still there?\",\"max_tokens\":4}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as("valid completion at %s: %s", baseUrl, response.body()).isEqualTo(200);
        assertThat(JSON.readTree(response.body()).path("choices").isArray()).as(response.body()).isTrue();
    }

    private static String errorLines() {
        StringBuilder out = new StringBuilder();
        try (var files = Files.walk(mesh.runDirectory(), 1)) {
            for (Path log : files.filter(path -> path.toString().endsWith(".log")).toList()) {
                List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8).stream()
                        .filter(line -> line.contains(" ERROR ") || line.contains("Exception")).limit(20).toList();
                lines.forEach(line -> out.append(log.getFileName()).append(": ").append(truncate(line)).append('\n'));
            }
        } catch (IOException | RuntimeException e) {
            out.append("(could not read logs: ").append(e).append(")\n");
        }
        return out.toString();
    }

    // ---------------------------------------------------------------- slow loris

    /**
     * Twenty connections that never finish their request (a huge Content-Length and a byte now and then, headers that
     * never end, a chunked body that stops) while valid requests to both targets must still be answered in a few
     * seconds; the sockets are closed after about three seconds, whatever the servers do.
     */
    private static String slowLoris(Map<String, String> targets, List<String> failures) throws Exception {
        List<Socket> sockets = new ArrayList<>();
        List<String> heads = new ArrayList<>();
        int variant = 0;
        for (String url : List.of(mesh.routerUrl(), mesh.runtimes().getFirst().url())) {
            URI uri = URI.create(url);
            for (int i = 0; i < 10; i++, variant++) {
                Socket socket = new Socket(uri.getHost(), uri.getPort());
                socket.setSoTimeout(500);
                String path = i % 2 == 0 ? "/v1/completions" : "/v1/chat/completions";
                String head = switch (variant % 4) {
                    case 0 -> "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n{\"model\":";
                    case 1 -> "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Slow: ";
                    case 2 -> "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n100\r\n{\"prompt\":\"";
                    default -> "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"model\":\"" + MODEL + "\"";
                };
                socket.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
                sockets.add(socket);
                heads.add(head);
            }
        }
        AtomicInteger dripErrors = new AtomicInteger();
        Thread drip = Thread.ofVirtual().start(() -> {
            long until = System.nanoTime() + Duration.ofSeconds(3).toNanos();
            while (System.nanoTime() < until) {
                for (int i = 0; i < sockets.size(); i++) {
                    if (i % 4 == 3) {
                        continue; // sent part of its body, then stopped
                    }
                    try {
                        OutputStream out = sockets.get(i).getOutputStream();
                        out.write('a');
                        out.flush();
                    } catch (IOException e) {
                        dripErrors.incrementAndGet();
                    }
                }
                try {
                    Thread.sleep(250);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        List<Long> latencies = new ArrayList<>();
        int answered = 0;
        try {
            for (int round = 0; round < 3; round++) {
                for (String url : targets.values()) {
                    long before = System.nanoTime();
                    Supplier<String> what = () -> "valid request to " + url + " during slow loris";
                    HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(url + "/v1/completions"))
                            .timeout(Duration.ofSeconds(5)).header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + MODEL + "\",\"prompt\":\"loris " + round
                                    + "\",\"max_tokens\":2}")).build(), HttpResponse.BodyHandlers.ofString());
                    latencies.add((System.nanoTime() - before) / 1_000_000);
                    assertThat(response.statusCode()).as(what.get() + ": " + response.body()).isEqualTo(200);
                }
                Thread.sleep(500);
            }
        } finally {
            drip.join(Duration.ofSeconds(5));
            for (int i = 0; i < sockets.size(); i++) {
                Socket socket = sockets.get(i);
                try {
                    InputStream in = socket.getInputStream();
                    if (in.available() > 0) {
                        byte[] start = in.readNBytes(Math.min(in.available(), 64));
                        String line = new String(start, StandardCharsets.ISO_8859_1);
                        answered++;
                        if (line.startsWith("HTTP/1.1 5")) {
                            failures.add("slow loris got " + line.lines().findFirst().orElse(line) + " for " + heads.get(i).replace("\r\n", "\\r\\n"));
                        }
                    }
                } catch (IOException e) {
                    // already closed by the server: fine
                }
                try {
                    socket.close();
                } catch (IOException e) {
                    // ignore
                }
            }
        }
        return "sockets=" + sockets.size() + " answeredEarly=" + answered + " dripErrors=" + dripErrors.get()
                + " validLatenciesMs=" + latencies;
    }

    // ---------------------------------------------------------------- generator

    private static final String[] FIELDS = {"model", "prompt", "messages", "max_tokens", "max_completion_tokens", "temperature",
            "top_p", "top_k", "stop", "stream", "stream_options", "seed", "user", "cache_salt", "kvmesh_tool_call", "tools",
            "tool_choice", "n"};

    /** JSON values of every type and shape, including ones that are not valid JSON at all (NaN, Infinity). */
    private static final String[] ODD_VALUES = {"123", "-1", "0", "1.5", "-0.0", "1e309", "-1e309", "1e-400", "9223372036854775808",
            "-9223372036854775809", "340282366920938463463374607431768211456", "\"str\"", "\"\"", "\" \"", "\"NaN\"", "\"Infinity\"",
            "\"10\"", "true", "false", "null", "[]", "{}", "[1,\"a\"]", "{\"a\":1}", "[null]", "[[[]]]", "{\"\":{}}", "\"\\u0000\"",
            "\"\\ud800\"", "\"\\udfff\\ud800\"", "NaN", "Infinity", "-Infinity", "undefined", "0x10", "01", "+1", ".5", "1.", "1e",
            "\"\\x41\"", "'single'", "[1,]", "{\"a\":1,}", "2147483648", "-2147483649", "4294967296", "1e10", "1E+2", "0.0000001"};

    private static final String[] MAX_TOKENS = {"-1", "0", "-2147483648", "-2147483649", "2147483647", "2147483648",
            "9999999999999999999999", "1.5", "1.0", "1e10", "1e-3", "-0", "\"10\"", "8191", "8192", "8193", "100000", "1e308",
            "-1e308", "null", "true", "[4]", "{\"n\":4}"};

    private static final String[] ROLES = {"user", "system", "assistant", "tool", "developer", "", "USER", "admin", "function",
            "root", "user ", "\\u0000"};

    private static final String[] PATHS = {"/v1/completions", "/v1/chat/completions"};

    private static Case generate(SplittableRandom random, int index) {
        String path = PATHS[random.nextInt(PATHS.length)];
        boolean chat = path.contains("chat");
        int kind = random.nextInt(100);
        // Rare, expensive cases at fixed positions so their count does not depend on the seed.
        if (index % 1000 == 500) {
            return json("huge-prompt", path, chat ? "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\""
                    + "a".repeat(2_000_000) + "\"}],\"max_tokens\":4}"
                    : "{\"model\":\"" + MODEL + "\",\"prompt\":\"" + "a".repeat(2_000_000) + "\",\"max_tokens\":4}");
        }
        if (index % 500 == 250) {
            int depth = 10_000;
            String nested = random.nextBoolean() ? "[".repeat(depth) + "]".repeat(depth) : "{\"a\":".repeat(depth) + "1" + "}".repeat(depth);
            return json("deep-nesting", path, random.nextBoolean() ? nested
                    : "{\"model\":\"" + MODEL + "\",\"" + (chat ? "messages" : "prompt") + "\":" + nested + "}");
        }
        if (index % 500 == 125) {
            return json("long-number", path, "{\"model\":\"" + MODEL + "\",\"prompt\":\"x\",\"max_tokens\":" + "9".repeat(5000) + "}");
        }
        if (kind < 8) {
            return json("truncated", path, truncated(random, valid(random, chat)));
        }
        if (kind < 14) {
            return json("mutated", path, mutated(random, valid(random, chat)));
        }
        if (kind < 18) {
            byte[] bytes = new byte[random.nextInt(300)];
            random.nextBytes(bytes);
            return new Case("random-bytes", "POST", path, random.nextBoolean() ? "application/json" : null, bytes);
        }
        if (kind < 24) {
            return new Case("invalid-utf8", "POST", path, "application/json", invalidUtf8(random, chat));
        }
        if (kind < 28) {
            String[] notObjects = {"[]", "1", "\"x\"", "null", "true", "[{\"model\":\"" + MODEL + "\",\"prompt\":\"x\"}]", "", " ",
                    "\n", "{}", "{\"model\":\"" + MODEL + "\"}", "-0", "1e999", "\"\\ud800\"", "[" + valid(random, chat) + "]"};
            return json("not-object", path, notObjects[random.nextInt(notObjects.length)]);
        }
        if (kind < 45) {
            String field = FIELDS[random.nextInt(FIELDS.length)];
            return json("wrong-type:" + field, path, with(random, chat, field, ODD_VALUES[random.nextInt(ODD_VALUES.length)]));
        }
        if (kind < 52) {
            String name = random.nextBoolean() ? "max_tokens" : "max_completion_tokens";
            return json("max-tokens", path, with(random, chat, name, MAX_TOKENS[random.nextInt(MAX_TOKENS.length)]));
        }
        if (kind < 58) {
            String[][] ranges = {{"temperature", "-1"}, {"temperature", "2.0001"}, {"temperature", "1e308"}, {"top_p", "0"},
                    {"top_p", "1.1"}, {"top_p", "-0.0"}, {"top_p", "4.9e-324"}, {"top_k", "-2"}, {"top_k", "2147483648"},
                    {"seed", "1e30"}, {"seed", "-9223372036854775808"}, {"seed", "18446744073709551616"}, {"n", "0"}, {"n", "2"},
                    {"n", "-1"}, {"n", "1e20"}, {"temperature", "-0"}, {"top_k", "-1"}, {"top_k", "0"}};
            String[] pick = ranges[random.nextInt(ranges.length)];
            return json("out-of-range:" + pick[0], path, with(random, chat, pick[0], pick[1]));
        }
        if (kind < 64) {
            return json("prompt", path, chat ? chatBody(random, "[" + message(random, "user", oddPrompt(random)) + "]")
                    : completionBody(random, oddPrompt(random)));
        }
        if (kind < 72) {
            return json("messages", path, chatOrPrompt(random, chat, oddMessages(random)));
        }
        if (kind < 76) {
            return json("token-ids", path, chat ? with(random, true, "prompt", oddTokenIds(random))
                    : completionBody(random, oddTokenIds(random)));
        }
        if (kind < 80) {
            return json("unknown-and-duplicate-fields", path, unknownFields(random, chat));
        }
        if (kind < 84) {
            String[] models = {"", " ", "kvmesh-sim ", "KVMESH-SIM", "../../etc/passwd", "no-such-model", "kvmesh-sim\\u0000",
                    "x".repeat(100_000), "\\ud83d\\ude00", "kvmesh-sim/../kvmesh-sim", "%00", "${jndi:ldap://x}"};
            return json("model", path, with(random, chat, "model", quote(models[random.nextInt(models.length)])));
        }
        if (kind < 88) {
            return json("tools", path, oddTools(random, chat));
        }
        if (kind < 91) {
            String[] stops = {"[]", "[\"\"]", "[\"a\",\"b\",\"c\",\"d\",\"e\"]", "[1]", "[null]", "\"" + "s".repeat(10_000) + "\"",
                    "\"\"", "[[\"a\"]]", "{\"a\":\"b\"}", "\"\\u0000\"", "[\"\\ud800\"]"};
            return json("stop", path, with(random, chat, "stop", stops[random.nextInt(stops.length)]));
        }
        if (kind < 94) {
            String[] types = {null, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                    "application/json; charset=utf-16", "application/json; charset=iso-8859-1", "application/xml", "*/*", "",
                    "application/json; boundary", "gibberish/;;;=="};
            String type = types[random.nextInt(types.length)];
            return new Case("content-type", "POST", path, type == null || type.isEmpty() ? null : type,
                    valid(random, chat).getBytes(StandardCharsets.UTF_8));
        }
        if (kind < 97) {
            String[] methods = {"GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE"};
            String[] paths = {"/v1/completions", "/v1/chat/completions", "/v1/nope", "/v1/completions/x", "/v1/", "/v2/completions",
                    "/nope", "/v1/models/x", "/v1/chat", "/v1//completions", "/v1/completions?x=%25ZZ", "/v1/%2e%2e/router/stats"};
            boolean post = random.nextInt(3) == 0;
            String method = post ? "POST" : methods[random.nextInt(methods.length)];
            return new Case("path-method", method, paths[random.nextInt(paths.length)], "application/json",
                    method.equals("GET") || method.equals("HEAD") || method.equals("TRACE") || method.equals("OPTIONS")
                            ? new byte[0] : valid(random, chat).getBytes(StandardCharsets.UTF_8));
        }
        String[] streamOptions = {"\"stream_options\":[]", "\"stream_options\":{\"include_usage\":\"yes\"}",
                "\"stream_options\":{\"include_usage\":true}", "\"stream_options\":null", "\"stream_options\":{\"x\":1}"};
        String body = valid(random, chat);
        return json("stream-options", path, "{" + streamOptions[random.nextInt(streamOptions.length)] + ",\"stream\":"
                + random.nextBoolean() + "," + body.substring(1));
    }

    private static Case json(String kind, String path, String body) {
        return new Case(kind, "POST", path, "application/json", body.getBytes(StandardCharsets.UTF_8));
    }

    private static String quote(String text) {
        return "\"" + text + "\"";
    }

    /** A request the services accept (small, so that answering it is cheap). */
    private static String valid(SplittableRandom random, boolean chat) {
        String prompt = "fuzz " + random.nextInt(1000);
        return chat ? chatBody(random, "[" + message(random, "user", quote(prompt)) + "]") : completionBody(random, quote(prompt));
    }

    private static String completionBody(SplittableRandom random, String prompt) {
        return "{\"model\":\"" + MODEL + "\",\"prompt\":" + prompt + ",\"max_tokens\":" + (1 + random.nextInt(4)) + ",\"stream\":"
                + (random.nextInt(4) == 0) + "}";
    }

    private static String chatBody(SplittableRandom random, String messages) {
        return "{\"model\":\"" + MODEL + "\",\"messages\":" + messages + ",\"max_tokens\":" + (1 + random.nextInt(4)) + ",\"stream\":"
                + (random.nextInt(4) == 0) + "}";
    }

    private static String chatOrPrompt(SplittableRandom random, boolean chat, String messages) {
        return chat ? chatBody(random, messages) : "{\"model\":\"" + MODEL + "\",\"messages\":" + messages + ",\"max_tokens\":2}";
    }

    private static String message(SplittableRandom random, String role, String content) {
        return "{\"role\":\"" + role + "\",\"content\":" + content + "}";
    }

    /** The valid request with {@code field} set to {@code value} (replacing it where the request has it). */
    private static String with(SplittableRandom random, boolean chat, String field, String value) {
        String body = valid(random, chat);
        String rest = body.substring(1).replaceAll("\"" + field + "\":(\\[[^\\]]*\\]|\"[^\"]*\"|[^,}]*),?", "");
        if (rest.startsWith("}") || rest.isEmpty()) {
            return "{\"" + field + "\":" + value + rest;
        }
        return "{\"" + field + "\":" + value + "," + rest;
    }

    private static String truncated(SplittableRandom random, String body) {
        return body.substring(0, random.nextInt(body.length()));
    }

    private static String mutated(SplittableRandom random, String body) {
        StringBuilder out = new StringBuilder(body);
        int edits = 1 + random.nextInt(4);
        String specials = "{}[]\":,\\ \u0000\u007ftfn0-.eE\n";
        for (int e = 0; e < edits && out.length() > 0; e++) {
            int at = random.nextInt(out.length());
            switch (random.nextInt(3)) {
                case 0 -> out.deleteCharAt(at);
                case 1 -> out.insert(at, specials.charAt(random.nextInt(specials.length())));
                default -> out.setCharAt(at, specials.charAt(random.nextInt(specials.length())));
            }
        }
        return out.toString();
    }

    private static byte[] invalidUtf8(SplittableRandom random, boolean chat) {
        byte[][] bad = {{(byte) 0xC3, 0x28}, {(byte) 0xFF}, {(byte) 0xFE, (byte) 0xFF}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
                {(byte) 0xC0, (byte) 0xAF}, {(byte) 0xE0, (byte) 0x80, (byte) 0xAF}, {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80},
                {(byte) 0xF0, (byte) 0x9F}, {(byte) 0x80}, {(byte) 0xE2, (byte) 0x82}, {(byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80}};
        String body = valid(random, chat);
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        // Inside the prompt's string (after "fuzz "), in a key, or at the very end.
        int at = switch (random.nextInt(3)) {
            case 0 -> body.indexOf("fuzz ") + 5;
            case 1 -> 2;
            default -> bytes.length;
        };
        byte[] insert = bad[random.nextInt(bad.length)];
        byte[] out = new byte[bytes.length + insert.length];
        System.arraycopy(bytes, 0, out, 0, at);
        System.arraycopy(insert, 0, out, at, insert.length);
        System.arraycopy(bytes, at, out, at + insert.length, bytes.length - at);
        return out;
    }

    private static String oddPrompt(SplittableRandom random) {
        String[] prompts = {"\"\"", "\" \"", "\"\\u0000\"", "\"\\ud800\"", "\"\\udc00x\"", "\"\\ud83d\\ude00\"", "\"" + "b".repeat(7000) + "\"",
                "\"" + "c".repeat(9000) + "\"", "\"" + "\\u00e9".repeat(3000) + "\"", "\"\\n\\t\\r\\b\\f\"", "\"<|eot_id|><|begin_of_text|>\"",
                "\"{{ raise_exception('x') }}\"", "[\"\"]", "[\"a\",\"b\"]", "[]", "[[]]", "null", "\"\\\"\"", "\"%s%n%x\""};
        return prompts[random.nextInt(prompts.length)];
    }

    private static String oddTokenIds(SplittableRandom random) {
        String[] ids = {"[-1]", "[0]", "[1,2,3]", "[2147483647]", "[2147483648]", "[-2147483649]", "[99999999]", "[1.5]", "[1e10]",
                "[null]", "[\"a\",1]", "[1,\"a\"]", "[[1,2],[3]]", "[" + "7,".repeat(9000) + "7]", "[true]", "[{}]", "[-0]", "[1e-5]",
                "[9223372036854775807]", "[256]", "[257]", "[255]", "[65535]"};
        return ids[random.nextInt(ids.length)];
    }

    private static String oddMessages(SplittableRandom random) {
        String role = ROLES[random.nextInt(ROLES.length)];
        String[] contents = {"\"hi\"", "\"\"", "123", "null", "true", "{}", "{\"text\":\"x\"}", "[]", "[{\"type\":\"text\",\"text\":\"x\"}]",
                "[{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://x\"}}]", "[{\"type\":\"text\"}]", "[{\"type\":\"text\",\"text\":5}]",
                "[\"x\"]", "[null]", "[{}]", "\"\\ud800\""};
        String content = contents[random.nextInt(contents.length)];
        return switch (random.nextInt(12)) {
            case 0 -> "[]";
            case 1 -> "{}";
            case 2 -> "[null]";
            case 3 -> "[{}]";
            case 4 -> "\"hello\"";
            case 5 -> "[{\"role\":" + ODD_VALUES[random.nextInt(ODD_VALUES.length)] + ",\"content\":\"x\"}]";
            case 6 -> "[{\"content\":\"x\"}]";
            case 7 -> "[{\"role\":\"user\"}]";
            case 8 -> "[{\"role\":\"tool\",\"content\":\"x\"}]";
            case 9 -> "[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":" + new String[] {"[]", "{}", "[{}]", "[{\"id\":1}]",
                    "[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":{}}}]",
                    "[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{not json\"}}]",
                    "[{\"id\":\"c\",\"type\":\"x\",\"function\":null}]"}[random.nextInt(7)] + "},{\"role\":\"user\",\"content\":\"x\"}]";
            case 10 -> "[" + (message(random, "user", "\"x\"") + ",").repeat(2000) + message(random, "user", "\"y\"") + "]";
            default -> "[" + message(random, role, content) + "]";
        };
    }

    private static String unknownFields(SplittableRandom random, boolean chat) {
        String body = valid(random, chat);
        String[] extras = {"\"unknown\":1", "\"__proto__\":{\"x\":1}", "\"" + "k".repeat(10_000) + "\":true", "\"\":\"\"",
                "\"model\":\"other\"", "\"model\":5", "\"prompt\":5", "\"messages\":5", "\"max_tokens\":-1", "\"max_tokens\":4",
                "\"logprobs\":5", "\"echo\":true", "\"best_of\":100", "\"logit_bias\":{\"1\":100}", "\"response_format\":{\"type\":\"json\"}",
                "\"stream\":\"yes\"", "\"suffix\":\"x\"", "\"presence_penalty\":1e308", "\"\\u0000\":1", "\"kvmesh_tool_call\":null"};
        StringBuilder out = new StringBuilder("{");
        int count = 1 + random.nextInt(4);
        for (int i = 0; i < count; i++) {
            out.append(extras[random.nextInt(extras.length)]).append(',');
        }
        String merged = out + body.substring(1);
        // Duplicates after the valid fields too.
        return random.nextBoolean() ? merged : merged.substring(0, merged.length() - 1) + "," + extras[random.nextInt(extras.length)] + "}";
    }

    private static String oddTools(SplittableRandom random, boolean chat) {
        String[] tools = {"[]", "{}", "[{}]", "[null]", "[{\"type\":\"function\"}]", "[{\"type\":\"function\",\"function\":{}}]",
                "[{\"type\":\"function\",\"function\":{\"name\":\"\"}}]", "[{\"type\":\"x\",\"function\":{\"name\":\"f\"}}]",
                "[{\"type\":\"function\",\"function\":{\"name\":\"f\"}},{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]",
                "[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":5}}]",
                "[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\"},\"description\":7}}]",
                "[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\"}}}]"};
        String[] choices = {"\"auto\"", "\"none\"", "\"required\"", "\"bogus\"", "5", "{}", "{\"type\":\"function\",\"function\":{\"name\":\"g\"}}",
                "{\"type\":\"function\",\"function\":{\"name\":\"f\"}}", "{\"type\":\"function\"}", "null", "[]"};
        String[] toolCalls = {"\"\"", "\"   \"", "\"" + "t".repeat(257) + "\"", "5", "[]", "\"weather\"", "\"\\u0000\""};
        StringBuilder out = new StringBuilder("{");
        switch (random.nextInt(3)) {
            case 0 -> out.append("\"tools\":").append(tools[random.nextInt(tools.length)]).append(',');
            case 1 -> out.append("\"tools\":").append(tools[random.nextInt(tools.length)]).append(",\"tool_choice\":")
                    .append(choices[random.nextInt(choices.length)]).append(',');
            default -> out.append("\"kvmesh_tool_call\":").append(toolCalls[random.nextInt(toolCalls.length)]).append(',');
        }
        return out + valid(random, chat).substring(1);
    }

    private static byte[] oversizedBody() {
        byte[] body = new byte[9 * 1024 * 1024];
        java.util.Arrays.fill(body, (byte) 'a');
        byte[] head = ("{\"model\":\"" + MODEL + "\",\"prompt\":\"").getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(head, 0, body, 0, head.length);
        body[body.length - 2] = '"';
        body[body.length - 1] = '}';
        return body;
    }
}
