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

    private Engine engine(PausePolicy policy, Duration pauseTimeout) {
        KvCacheManager kv = new KvCacheManager(new BlockPool(64, 16, KvEventSink.NONE),
                new BlockPool(64, 16, KvEventSink.NONE, Medium.HOST), new BlockHasher("virtual", "", 16));
        PauseDecisions decisions = new PauseDecisions(policy, 131072,
                new CostProfile(64, 8, new ForwardCostModel(0, 1e-3, 1e-2), 1e-4), new CallDurationPredictor(8, 1, Map.of()));
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
