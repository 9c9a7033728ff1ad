package io.kvmesh.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import org.junit.jupiter.api.AfterEach;
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

/** Pauses on the sim backend: what is held, for how long, what happens when the host tier is full or nobody returns. */
class PauseLifecycleTest {

    private Engine engine;
    private KvCacheManager kv;

    private static final SimCostModel FREE = new SimCostModel(Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO);

    private Engine start(PausePolicy policy, int hostBlocks, Duration timeout, Map<String, Double> toolSeconds) {
        return start(policy, hostBlocks, timeout, toolSeconds, FREE);
    }

    private Engine start(PausePolicy policy, int hostBlocks, Duration timeout, Map<String, Double> toolSeconds, SimCostModel costs) {
        kv = new KvCacheManager(new BlockPool(64, 16, KvEventSink.NONE),
                hostBlocks == 0 ? null : new BlockPool(hostBlocks, 16, KvEventSink.NONE, Medium.HOST), new BlockHasher("sim", "", 16));
        PauseDecisions decisions = new PauseDecisions(policy, 131072,
                new CostProfile(64, 8, new ForwardCostModel(0, 3.3e-4, 2.4e-2), 4e-5), new CallDurationPredictor(8, 1, toolSeconds));
        engine = new Engine(kv, new Scheduler(kv, 512, 16),
                new SimBackend(costs, 16), 10_000,
                decisions, timeout);
        engine.start();
        return engine;
    }

    @AfterEach
    void stop() {
        if (engine != null) {
            engine.close();
        }
    }

    /** One turn's output. */
    private static class Turn extends RecordingSink {
    }

    private Turn run(int[] prompt, int maxTokens, String session, String tool) throws Exception {
        Turn turn = new Turn();
        engine.submit(new GenerationRequest("r" + System.nanoTime(), prompt, maxTokens, SamplingParams.GREEDY, turn, "", session, tool));
        turn.await(20);
        return turn;
    }

    private static int[] prompt(int from, int length) {
        return IntStream.range(from, from + length).toArray();
    }

    private static int[] next(int[] prompt, Turn turn, int returned) {
        return IntStream.concat(IntStream.concat(IntStream.of(prompt), turn.tokens.stream().mapToInt(Integer::intValue)),
                IntStream.range(300, 300 + returned)).toArray();
    }

    @Test
    void aKeptSessionHoldsItsBlocksUntilItsNextTurnThenReusesThem() throws Exception {
        start(PausePolicy.KEEP, 0, Duration.ofMinutes(1), Map.of());
        int[] first = prompt(1, 100);
        Turn turn = run(first, 20, "s", "calculator");
        assertThat(turn.done.get()).isEqualTo(FinishReason.TOOL_CALLS);
        // 119 tokens computed: 7 full blocks pinned while the call runs.
        assertThat(engine.stats().usedBlocks()).isEqualTo(7);
        assertThat(engine.stats().paused()).isEqualTo(1);
        assertThat(engine.pauseStats().pinnedDeviceBlocks()).isEqualTo(7);
        Turn resumed = run(next(first, turn, 10), 5, "s", null);
        assertThat(resumed.done.get()).isEqualTo(FinishReason.LENGTH);
        assertThat(resumed.cached).isEqualTo(7 * 16);
        assertThat(engine.stats().usedBlocks()).as("all released after the last turn").isZero();
        assertThat(engine.pauseStats().pinnedDeviceBlocks()).isZero();
        assertThat(engine.pauseStats().resumed()).isEqualTo(1);
        assertThat(engine.decisions().calls().counts()).containsEntry("calculator", 1);
    }

    @Test
    void aFullHostTierTurnsASwapIntoACountedDiscard() throws Exception {
        start(PausePolicy.SWAP, 2, Duration.ofMinutes(1), Map.of());
        Turn turn = run(prompt(1, 100), 20, "s", "image");
        assertThat(turn.done.get()).isEqualTo(FinishReason.TOOL_CALLS);
        PauseStats stats = engine.pauseStats();
        assertThat(stats.swapped()).isZero();
        assertThat(stats.discarded()).isEqualTo(1);
        assertThat(stats.hostFullFallbacks()).isEqualTo(1);
        assertThat(engine.stats().hostUsedBlocks()).isZero();
    }

    @Test
    void anExpiredPauseIsReleasedAndItsSessionIsServedFresh() throws Exception {
        start(PausePolicy.KEEP, 0, Duration.ofMillis(100), Map.of());
        int[] first = prompt(1, 100);
        Turn turn = run(first, 20, "s", "chat");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (engine.pauseStats().expired() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(engine.pauseStats().expired()).isEqualTo(1);
        assertThat(engine.stats().usedBlocks()).as("pins dropped").isZero();
        Turn late = run(next(first, turn, 10), 5, "s", null);
        assertThat(late.done.get()).isEqualTo(FinishReason.LENGTH);
        assertThat(late.cached).as("still in the prefix cache, nothing held for it").isEqualTo(7 * 16);
        assertThat(engine.pauseStats().resumed()).isZero();

        Turn unknown = run(prompt(5000, 40), 5, "never-paused", null);
        assertThat(unknown.done.get()).as("an unknown session is a fresh request").isEqualTo(FinishReason.LENGTH);
    }

    /** With InferCept's costs (0.33 ms per token + 24 ms per iteration, swap 0.04 ms per token), learned online. */
    @Test
    void theWasteModelKeepsForAShortCallAndDiscardsForALongOne() throws Exception {
        start(PausePolicy.INFERCEPT, 64, Duration.ofMinutes(1), Map.of("calculator", 0.001, "human", 60.0),
                new SimCostModel(Duration.ofNanos(330_000), Duration.ofMillis(24), Duration.ZERO, Duration.ofNanos(40_000)));
        Turn quick = run(prompt(1, 100), 20, "a", "calculator");
        Turn slow = run(prompt(2000, 100), 20, "b", "human");
        assertThat(quick.done.get()).isEqualTo(FinishReason.TOOL_CALLS);
        assertThat(slow.done.get()).isEqualTo(FinishReason.TOOL_CALLS);
        PauseStats stats = engine.pauseStats();
        assertThat(stats.kept()).as("1 ms call: keeping wastes least").isEqualTo(1);
        assertThat(stats.swapped() + stats.discarded()).as("60 s call: anything but keep").isEqualTo(1);
    }

    @Test
    void aTurnWithAToolButNoSessionEndsInToolCallsWithoutPausing() throws Exception {
        start(PausePolicy.KEEP, 0, Duration.ofMinutes(1), Map.of());
        Turn turn = run(prompt(1, 40), 5, null, "calculator");
        assertThat(turn.done.get()).isEqualTo(FinishReason.TOOL_CALLS);
        assertThat(engine.stats().paused()).isZero();
        assertThat(engine.stats().usedBlocks()).isZero();
    }

    /** A turn whose output the sink recognises as a call (a chat with tools) pauses like a declared one. */
    @Test
    void aToolCallRecognisedInTheOutputPausesTheSession() throws Exception {
        start(PausePolicy.KEEP, 0, Duration.ofMinutes(1), Map.of());
        Turn turn = new Turn() {
            @Override
            public String calledTool() {
                return tokens.size() == 8 ? "get_weather" : null;
            }
        };
        engine.submit(new GenerationRequest("parsed", prompt(1, 40), 8, SamplingParams.GREEDY, turn, "", "s", null));
        assertThat(turn.done.get(20, TimeUnit.SECONDS)).isEqualTo(FinishReason.TOOL_CALLS);
        assertThat(engine.stats().paused()).isEqualTo(1);
        assertThat(engine.pauseStats().kept()).isEqualTo(1);
    }

    /** Kept KV never starves live requests: with every block pinned, the pause predicted to return last lets go. */
    @Test
    void pinnedPausesGiveWayWhenWaitingRequestsCannotBeAdmitted() throws Exception {
        start(PausePolicy.KEEP, 0, Duration.ofMinutes(1), Map.of("chat", 30.0, "calculator", 0.01));
        run(prompt(1, 320), 2, "a", "calculator");
        run(prompt(1000, 320), 2, "b", "chat");
        run(prompt(2000, 320), 2, "c", "calculator");
        assertThat(engine.stats().usedBlocks()).as("3 x 20 pinned of 64").isEqualTo(60);
        Turn big = run(prompt(5000, 150), 4, null, null);
        assertThat(big.done.get()).isEqualTo(FinishReason.LENGTH);
        assertThat(engine.pauseStats().reclaimed()).isEqualTo(1);
        assertThat(engine.stats().paused()).as("still paused, holding nothing").isEqualTo(3);
        assertThat(engine.stats().usedBlocks()).as("b (the chat, back last) let go").isEqualTo(40);
    }

    /**
     * New requests take a kept pause's blocks only when it will be out longer than its context takes to recompute, or
     * when it is overdue by more than its predicted call; a session due back in a moment keeps its KV.
     */
    @Test
    void aPauseDueBackSoonerThanItsRecomputationKeepsItsBlocksFromNewRequests() {
        assertThat(Engine.mayGiveWayToNewRequests(30, 30, 0.1)).as("a chat reply 30 s away").isTrue();
        assertThat(Engine.mayGiveWayToNewRequests(0.05, 0.1, 0.2)).as("an agent step back in 50 ms, 200 ms to recompute").isFalse();
        assertThat(Engine.mayGiveWayToNewRequests(-0.05, 0.1, 0.2)).as("a little late").isFalse();
        assertThat(Engine.mayGiveWayToNewRequests(-0.15, 0.1, 0.2)).as("overdue by more than its call").isTrue();
    }

    /**
     * Resuming turns whose own pins fill the pool: the first needs more new blocks than are free and nothing runs. Pins
     * of a waiting resuming turn are given up (its KV stays cached), so every turn completes instead of deadlocking.
     */
    @Test
    void resumingTurnsThatPinThePoolBetweenThemStillComplete() throws Exception {
        start(PausePolicy.KEEP, 0, Duration.ofMinutes(1), Map.of());
        int[][] contexts = {prompt(1, 320), prompt(1000, 320), prompt(2000, 320)};
        List<Turn> resumed = new java.util.ArrayList<>();
        int[][] next = new int[3][];
        for (int i = 0; i < 3; i++) {
            Turn first = run(contexts[i], 2, "s" + i, "calculator");
            next[i] = next(contexts[i], first, 100);
        }
        assertThat(engine.stats().usedBlocks()).isEqualTo(60);
        for (int i = 0; i < 3; i++) {
            Turn turn = new Turn();
            engine.submit(new GenerationRequest("resume-" + i, next[i], 2, SamplingParams.GREEDY, turn, "", "s" + i, null));
            resumed.add(turn);
        }
        for (Turn turn : resumed) {
            assertThat(turn.await(20)).isEqualTo(FinishReason.LENGTH);
        }
        assertThat(engine.pauseStats().reclaimed()).isPositive();
        assertThat(engine.pauseStats().resumed()).isEqualTo(3);
        assertThat(resumed).as("a turn that kept its pins finds its whole context")
                .anySatisfy(turn -> assertThat(turn.cached).isEqualTo(320));
    }
}
