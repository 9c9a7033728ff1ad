package io.kvmesh.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.kvmesh.prefix.blocks.BlockHasher;
import io.kvmesh.runtime.kv.BlockPool;
import io.kvmesh.runtime.kv.KvCacheManager;
import io.kvmesh.runtime.kv.KvEventSink;
import io.kvmesh.runtime.sim.SimBackend;
import io.kvmesh.runtime.sim.SimCostModel;

class EngineTest {

    private Engine engine;

    private Engine start(int blocks, int budget, Duration prefillPerToken) {
        KvCacheManager kv = new KvCacheManager(new BlockPool(blocks, 16, KvEventSink.NONE), new BlockHasher("sim", "", 16));
        engine = new Engine(kv, new Scheduler(kv, budget, 64),
                new SimBackend(new SimCostModel(prefillPerToken, Duration.ofMillis(1), Duration.ZERO)), 100_000);
        engine.start();
        return engine;
    }

    @AfterEach
    void stop() {
        engine.close();
    }

    /** Collects one request's output. */
    static final class Collector implements TokenSink {
        final List<Integer> tokens = new ArrayList<>();
        final CompletableFuture<int[]> done = new CompletableFuture<>();
        final long submitted = System.nanoTime();
        volatile long firstTokenNanos;
        FinishReason reason;

        @Override
        public void onToken(int tokenId) {
            if (tokens.isEmpty()) {
                firstTokenNanos = System.nanoTime() - submitted;
            }
            tokens.add(tokenId);
        }

        @Override
        public void onFinish(FinishReason reason, int promptTokens, int completionTokens, int cachedPromptTokens) {
            this.reason = reason;
            done.complete(new int[] {promptTokens, completionTokens, cachedPromptTokens});
        }

        int[] await() throws Exception {
            return done.get(20, TimeUnit.SECONDS);
        }
    }

    private static int[] prompt(int from, int length) {
        return IntStream.range(from, from + length).toArray();
    }

    /** A token the backend says ends generation (end of sequence or of turn) finishes the request with "stop". */
    @Test
    void anEndOfGenerationTokenStopsTheRequest() throws Exception {
        KvCacheManager kv = new KvCacheManager(new BlockPool(64, 16, KvEventSink.NONE), new BlockHasher("t", "", 16));
        SimBackend sim = new SimBackend(new SimCostModel(Duration.ZERO, Duration.ZERO, Duration.ZERO));
        int[] emitted = {0};
        ForwardBackend endsOnThird = new ForwardBackend() {
            @Override
            public void forward(List<ScheduledChunk> chunks) {
                sim.forward(chunks);
            }

            @Override
            public int sampleNext(SequenceState sequence) {
                return ++emitted[0] == 3 ? 99 : sim.sampleNext(sequence);
            }

            @Override
            public boolean endsGeneration(int token) {
                return token == 99;
            }
        };
        engine = new Engine(kv, new Scheduler(kv, 512, 64), endsOnThird, 10_000);
        engine.start();
        Collector output = new Collector();
        engine.submit(new GenerationRequest("eot", prompt(0, 20), 10, output));
        assertThat(output.await()).containsExactly(20, 3, 0);
        assertThat(output.reason).isEqualTo(FinishReason.STOP);
        assertThat(output.tokens).endsWith(99);
    }

    @Test
    void aRepeatedPrefixIsCachedAndFasterToTheFirstToken() throws Exception {
        start(256, 512, Duration.ofMillis(1));
        Collector cold = new Collector();
        engine.submit(new GenerationRequest("cold", prompt(0, 300), 4, cold));
        assertThat(cold.await()).containsExactly(300, 4, 0);
        assertThat(cold.reason).isEqualTo(FinishReason.LENGTH);

        int[] warmPrompt = IntStream.concat(IntStream.range(0, 256), IntStream.range(9000, 9044)).toArray();
        Collector warm = new Collector();
        engine.submit(new GenerationRequest("warm", warmPrompt, 4, warm));
        assertThat(warm.await()).containsExactly(300, 4, 256);
        assertThat(warm.firstTokenNanos).isLessThan(cold.firstTokenNanos / 2);
        assertThat(engine.stats().prefixHitTokens()).isEqualTo(256);
    }

    @Test
    void aRequestArrivingDuringAnotherOnesPrefillOfTheSamePrefixWaitsAndReusesIt() throws Exception {
        // The first prefill takes two iterations (512 + 138 tokens, 1 ms each); the second arrives during the first and
        // would compute the last 8 shared blocks again beside it in the second.
        start(256, 512, Duration.ofMillis(1));
        int[] shared = prompt(0, 640);
        Collector first = new Collector();
        engine.submit(new GenerationRequest("first", IntStream.concat(IntStream.of(shared), IntStream.range(8000, 8010)).toArray(), 4, first));
        Thread.sleep(150);
        Collector second = new Collector();
        engine.submit(new GenerationRequest("second", IntStream.concat(IntStream.of(shared), IntStream.range(9000, 9010)).toArray(), 4, second));
        assertThat(first.await()).containsExactly(650, 4, 0);
        assertThat(second.await()).as("the second reuses all 40 shared blocks instead of computing them again")
                .containsExactly(650, 4, 640);
        assertThat(engine.stats().prefixHolds()).isEqualTo(1);
        assertThat(engine.stats().prefixHitTokens()).isEqualTo(640);
    }

    @Test
    void outputIsDeterministic() throws Exception {
        start(64, 512, Duration.ZERO);
        Collector a = new Collector();
        Collector b = new Collector();
        engine.submit(new GenerationRequest("a", prompt(5, 40), 20, a));
        a.await();
        engine.submit(new GenerationRequest("b", prompt(5, 40), 20, b));
        b.await();
        assertThat(a.tokens).hasSize(20).isEqualTo(b.tokens);
    }

    @Test
    void manyConcurrentRequestsAllFinishEvenWhenBlocksRunOut() throws Exception {
        start(24, 64, Duration.ZERO);
        List<Collector> collectors = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            Collector c = new Collector();
            collectors.add(c);
            engine.submit(new GenerationRequest("r" + i, prompt(i * 1000, 40), 60, c));
        }
        for (Collector c : collectors) {
            assertThat(c.await()[1]).isEqualTo(60);
        }
        assertThat(engine.stats().preemptions()).as("24 blocks cannot hold 12 × 100 tokens at once").isPositive();
        assertThat(engine.stats().usedBlocks()).isZero();
    }

    @Test
    void cancelledRequestsEndWithAbortAndFreeTheirBlocks() throws Exception {
        start(64, 16, Duration.ofMillis(2));
        Collector c = new Collector();
        Engine.Handle handle = engine.submit(new GenerationRequest("c", prompt(0, 200), 800, c));
        Thread.sleep(50);
        handle.cancel();
        c.await();
        assertThat(c.reason).isEqualTo(FinishReason.ABORT);
        assertThat(engine.stats().usedBlocks()).isZero();
    }

    @Test
    void aRequestLargerThanTheKvPoolIsRefused() {
        start(4, 64, Duration.ZERO);
        assertThatThrownBy(() -> engine.submit(new GenerationRequest("big", prompt(0, 60), 10, new Collector())))
                .hasMessageContaining("maximum context length is 64 tokens");
    }
}
