package io.kvmesh.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;

import io.kvmesh.prefix.blocks.BlockHasher;
import io.kvmesh.prefix.events.Medium;
import io.kvmesh.runtime.kv.BlockPool;
import io.kvmesh.runtime.kv.KvCacheManager;
import io.kvmesh.runtime.kv.KvEventSink;
import io.kvmesh.runtime.lamps.CallDurationPredictor;
import io.kvmesh.runtime.lamps.CostProfile;
import io.kvmesh.runtime.lamps.ForwardCostModel;
import io.kvmesh.runtime.lamps.PauseDecisions;
import io.kvmesh.runtime.lamps.PausePolicy;
import io.kvmesh.runtime.sim.SimBackend;
import io.kvmesh.runtime.sim.SimCostModel;
import io.kvmesh.runtime.sim.VirtualClock;

/**
 * The engine stepped by hand on a virtual clock (the LAMPS benchmark's discrete-event mode): time moves only by the sim
 * backend's modelled costs and by the driver, so timings are exact and two runs of the same work are identical.
 */
class VirtualTimeTest {

    private static final long MS = 1_000_000;
    /** 1 ms per prefill token, 10 ms per iteration with decodes, 2 ms per decoding sequence, 0.1 ms per swapped token. */
    private static final SimCostModel COSTS = new SimCostModel(Duration.ofMillis(1), Duration.ofMillis(10), Duration.ofMillis(2),
            Duration.ofNanos(100_000));

    private final VirtualClock clock = new VirtualClock();
    private KvCacheManager kv;

    private Engine engine(PausePolicy policy, Duration pauseTimeout) {
        return engine(policy, pauseTimeout, Map.of());
    }

    private Engine engine(PausePolicy policy, Duration pauseTimeout, Map<String, Double> toolSeconds) {
        kv = new KvCacheManager(new BlockPool(64, 16, KvEventSink.NONE),
                new BlockPool(64, 16, KvEventSink.NONE, Medium.HOST), new BlockHasher("virtual", "", 16));
        PauseDecisions decisions = new PauseDecisions(policy, 131072,
                new CostProfile(64, 8, new ForwardCostModel(0, 1e-3, 1e-2), 1e-4), new CallDurationPredictor(8, 1, toolSeconds));
        return new Engine(kv, new Scheduler(kv, 512, 16), new SimBackend(COSTS, 16, clock), 10_000, decisions, pauseTimeout)
                .timedBy(clock);
    }

    private static GenerationRequest request(String id, int[] prompt, int maxTokens, RecordingSink sink, String tool) {
        return new GenerationRequest(id, prompt, maxTokens, SamplingParams.GREEDY, sink, "", tool == null ? null : id, tool);
    }

    private static void stepUntilIdle(Engine engine) {
        for (int i = 0; i < 10_000 && engine.step(); i++) {
            // Each step is one iteration; the clock moved by its modelled cost.
        }
    }

    @Test
    void aTurnTakesExactlyItsModelledCostInVirtualTime() {
        try (Engine engine = engine(PausePolicy.KEEP, Duration.ofMinutes(5))) {
            RecordingSink sink = new RecordingSink();
            engine.submit(request("a", IntStream.range(1, 33).toArray(), 4, sink, null));
            stepUntilIdle(engine);
            assertThat(sink.done).isCompletedWithValue(FinishReason.LENGTH);
            assertThat(sink.tokens).hasSize(4);
            // The prefill iteration computes all 32 prompt tokens and samples the first output token; each of the
            // three further tokens is one decode iteration of one sequence.
            assertThat(clock.nanoTime()).isEqualTo(32 * MS + 3 * (10 + 2) * MS);
        }
    }

    @Test
    void aPausedSessionExpiresOnlyWhenVirtualTimeReachesItsTimeout() {
        try (Engine engine = engine(PausePolicy.KEEP, Duration.ofSeconds(60))) {
            RecordingSink sink = new RecordingSink();
            engine.submit(request("s", IntStream.range(1, 101).toArray(), 20, sink, "calculator"));
            stepUntilIdle(engine);
            assertThat(sink.done).isCompletedWithValue(FinishReason.TOOL_CALLS);
            assertThat(engine.stats().paused()).isEqualTo(1);
            long pausedAt = clock.nanoTime();

            clock.advanceTo(pausedAt + Duration.ofSeconds(59).toNanos());
            engine.step();
            assertThat(engine.pauseStats().expired()).as("59 s of a 60 s timeout").isZero();
            assertThat(engine.stats().paused()).isEqualTo(1);

            clock.advanceTo(pausedAt + Duration.ofSeconds(61).toNanos());
            engine.step();
            assertThat(engine.pauseStats().expired()).isEqualTo(1);
            assertThat(engine.stats().usedBlocks()).as("its pinned blocks dropped").isZero();
        }
    }

    /**
     * A session whose next turn went elsewhere: while requests wait, its pins go once it is overdue by more than its
     * predicted call and the grace; its KV stays cached, and the pause itself lasts until the timeout.
     */
    @Test
    void anOverduePauseGivesUpItsPinsWhileRequestsWaitButStaysCached() {
        try (Engine engine = engine(PausePolicy.KEEP, Duration.ofMinutes(5), Map.of("calculator", 1.0))) {
            RecordingSink sink = new RecordingSink();
            int[] prompt = IntStream.range(1, 101).toArray();
            engine.submit(request("s", prompt, 20, sink, "calculator"));
            stepUntilIdle(engine);
            assertThat(sink.done).isCompletedWithValue(FinishReason.TOOL_CALLS);
            assertThat(engine.pauseStats().pinnedDeviceBlocks()).isEqualTo(7);
            long pausedAt = clock.nanoTime();

            // Predicted back after 1 s; overdue by 9 s is within the 10 s grace.
            clock.advanceTo(pausedAt + Duration.ofSeconds(10).toNanos());
            engine.submit(request("other-1", IntStream.range(1000, 1032).toArray(), 2, new RecordingSink(), null));
            stepUntilIdle(engine);
            assertThat(engine.pauseStats().pinnedDeviceBlocks()).isEqualTo(7);

            clock.advanceTo(pausedAt + Duration.ofSeconds(12).toNanos());
            engine.submit(request("other-2", IntStream.range(2000, 2032).toArray(), 2, new RecordingSink(), null));
            stepUntilIdle(engine);
            assertThat(engine.pauseStats().pinnedDeviceBlocks()).as("overdue by 11 s").isZero();
            assertThat(engine.pauseStats().reclaimed()).isEqualTo(1);
            assertThat(engine.stats().paused()).as("still paused until the timeout, holding nothing").isEqualTo(1);
            assertThat(kv.deviceCachedBlocks(prompt, kv.reusableBlockHashes(prompt, "")))
                    .as("its context still cached").isEqualTo(6);
        }
    }

    @Test
    void aSwapIsChargedItsCopyTime() {
        try (Engine engine = engine(PausePolicy.SWAP, Duration.ofMinutes(5))) {
            RecordingSink sink = new RecordingSink();
            engine.submit(request("s", IntStream.range(1, 97).toArray(), 17, sink, "image"));
            stepUntilIdle(engine);
            assertThat(sink.done).isCompletedWithValue(FinishReason.TOOL_CALLS);
            assertThat(engine.pauseStats().swapped()).isEqualTo(1);
            long blocks = engine.pauseStats().blocksSwappedOut();
            assertThat(blocks).isEqualTo((96 + 16) / 16);
            // 96 prompt tokens, 16 decode iterations, then the pause's copy to host of its full blocks.
            assertThat(clock.nanoTime()).isEqualTo(96 * MS + 16 * 12 * MS + blocks * 16 * 100_000);
        }
    }

    @Test
    void twoRunsOfTheSameWorkAreIdentical() {
        assertThat(finishTimes()).isEqualTo(finishTimes()).hasSize(12);
    }

    /** Twelve requests of different sizes arriving 5 ms apart, some sharing a prefix; each one's finish time. */
    private static List<String> finishTimes() {
        VirtualTimeTest run = new VirtualTimeTest();
        List<String> finished = new ArrayList<>();
        try (Engine engine = run.engine(PausePolicy.LAMPS, Duration.ofMinutes(5))) {
            for (int i = 0; i < 12; i++) {
                int id = i;
                int[] prompt = IntStream.range(i % 3 == 0 ? 1 : 100 * i, (i % 3 == 0 ? 1 : 100 * i) + 40 + 13 * i).toArray();
                RecordingSink sink = new RecordingSink() {
                    @Override
                    public void onFinish(FinishReason reason, int promptTokens, int completionTokens, int cachedPromptTokens) {
                        super.onFinish(reason, promptTokens, completionTokens, cachedPromptTokens);
                        finished.add(id + "@" + run.clock.nanoTime() + " cached " + cachedPromptTokens);
                    }
                };
                engine.submit(request("r" + i, prompt, 5 + 3 * i, sink, null));
                engine.step();
                run.clock.advance(5 * MS);
            }
            stepUntilIdle(engine);
        }
        return finished;
    }
}
