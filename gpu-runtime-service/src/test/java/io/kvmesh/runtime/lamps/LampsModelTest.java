package io.kvmesh.runtime.lamps;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;

/** The LAMPS decision model, plain Java: waste formulas, the fitted forward cost, call predictions, the queue. */
class LampsModelTest {

    /** InferCept's profiled constants for a 6B model (ms → s): 1.3e-5·q² + 0.328·q + 24.1 ms; swap 4e-5 s per token. */
    private static final ForwardCostModel INFERCEPT = new ForwardCostModel(1.3e-8, 0.328e-3, 24.1e-3);
    private static final double M = 2 * 28 * 4096 * 2; // K and V, 28 layers, 4096 wide, fp16: bytes per token

    @Test
    void theWastesAreInferCeptsFormulas() {
        WasteModel model = new WasteModel(M, INFERCEPT, 4e-5);
        WasteModel.Decision d = model.decide(1000, 3000, 2.0, true);
        double tFwd = INFERCEPT.seconds(1000);
        assertThat(d.keep()).isCloseTo(2.0 * 1000 * M, within(1e-6 * d.keep()));
        assertThat(d.discard()).isCloseTo(tFwd * 1000 * M + tFwd * 3000 * M, within(1e-6 * d.discard()));
        assertThat(d.swap()).isCloseTo(2 * 4e-5 * 1000 * 4000 * M, within(1e-6 * d.swap()));
        assertThat(d.waste()).isEqualTo(Math.min(d.keep(), Math.min(d.discard(), d.swap())));
    }

    @Test
    void shortCallsKeepLongCallsSwapOrDiscard() {
        WasteModel model = new WasteModel(M, INFERCEPT, 4e-5);
        // A calculator call (5 ms): keeping the blocks idle costs least.
        assertThat(model.decide(1000, 3000, 0.005, true).choice()).isEqualTo(PauseChoice.KEEP);
        // A human reply (30 s) on a busy batch: swapping out and back costs least when the host has room...
        assertThat(model.decide(1000, 3000, 30, true).choice()).isEqualTo(PauseChoice.SWAP);
        // ...and without room, recomputing beats holding the blocks for 30 s.
        assertThat(model.decide(1000, 3000, 30, false).choice()).isEqualTo(PauseChoice.DISCARD);
        assertThat(model.decide(1000, 3000, 30, false).swap()).isInfinite();
        // A long context alone on the device: swapping stalls nobody else much, and beats recomputing 8k tokens.
        assertThat(model.decide(8000, 0, 10, true).choice()).isEqualTo(PauseChoice.SWAP);
    }

    @Test
    void theChoiceMovesFromKeepToDiscardAsTheCallGrows() {
        WasteModel model = new WasteModel(M, INFERCEPT, 4e-5);
        PauseChoice previous = PauseChoice.KEEP;
        List<PauseChoice> seen = new ArrayList<>();
        for (double call = 0.001; call < 120; call *= 1.5) {
            PauseChoice choice = model.decide(500, 2000, call, false).choice();
            if (previous == PauseChoice.DISCARD) {
                assertThat(choice).as("once discard wins, longer calls never keep").isEqualTo(PauseChoice.DISCARD);
            }
            previous = choice;
            seen.add(choice);
        }
        assertThat(seen).contains(PauseChoice.KEEP, PauseChoice.DISCARD);
    }

    @Test
    void theForwardCostIsFittedFromMeasuredIterations() {
        Random random = new Random(3);
        long[] q = new long[40];
        double[] seconds = new double[q.length];
        for (int i = 0; i < q.length; i++) {
            // Log-uniform 1..4096, as an engine's iterations are: many small decode steps, some long prefills.
            q[i] = Math.round(Math.exp(random.nextDouble() * Math.log(4096)));
            seconds[i] = INFERCEPT.seconds(q[i]) * (1 + 0.01 * random.nextGaussian());
        }
        ForwardCostModel fitted = ForwardCostModel.fit(q, seconds);
        for (long tokens : new long[] {1, 128, 1024, 4096}) {
            assertThat(fitted.seconds(tokens)).isCloseTo(INFERCEPT.seconds(tokens), within(0.03 * INFERCEPT.seconds(tokens)));
        }
        // Noise that would make a coefficient negative falls back to a simpler monotone model.
        ForwardCostModel linear = ForwardCostModel.fit(new long[] {1, 2, 3, 4}, new double[] {0.010, 0.021, 0.029, 0.040});
        assertThat(linear.a()).isGreaterThanOrEqualTo(0);
        assertThat(linear.seconds(8)).isGreaterThan(linear.seconds(4));
        assertThatThrownBy(() -> ForwardCostModel.fit(new long[] {5, 5, 5}, new double[] {1, 1, 1}))
                .hasMessageContaining("same token count");
    }

    @Test
    void callDurationsArePredictedPerToolFromHistory() {
        CallDurationPredictor predictor = new CallDurationPredictor(5, 1.0, Map.of("calculator", 0.005));
        assertThat(predictor.predictSeconds("calculator")).isEqualTo(0.005);
        assertThat(predictor.predictSeconds("web_search")).isEqualTo(1.0);
        for (double s : new double[] {2, 3, 100, 2.5, 3.5}) {
            predictor.observe("web_search", s);
        }
        assertThat(predictor.predictSeconds("web_search")).as("the median ignores the outlier").isEqualTo(3.0);
        for (int i = 0; i < 5; i++) {
            predictor.observe("web_search", 10);
        }
        assertThat(predictor.predictSeconds("web_search")).as("only the last 5 count").isEqualTo(10);
        predictor.observe("web_search", Double.NaN);
        assertThat(predictor.counts()).containsEntry("web_search", 5);
    }

    @Test
    void theQueueServesTheSmallestAreaFirstAndPromotesTheStarved() {
        MemoryTimeQueue<String> queue = new MemoryTimeQueue<>(1_000);
        double big = MemoryTimeQueue.area(4000, 500, 0.02, M);
        double small = MemoryTimeQueue.area(100, 20, 0.02, M);
        assertThat(small).isLessThan(big);
        queue.add("big", big, 0);
        queue.add("small", small, 10);
        queue.add("small-2", small, 20);
        assertThat(queue.poll(100)).isEqualTo("small");
        assertThat(queue.poll(100)).as("ties keep arrival order").isEqualTo("small-2");
        queue.add("small-3", small, 200);
        assertThat(queue.poll(1_500)).as("big has waited 1.5 ms > 1 ms: it goes first").isEqualTo("big");
        assertThat(queue.promoted()).isEqualTo(1);
        assertThat(queue.poll(1_600)).isEqualTo("small-3");
        assertThat(queue.poll(1_700)).isNull();
        assertThat(queue.size()).isZero();
    }

    @Test
    void firstListsWhatPollWouldReturnInOrderStarvedFirst() {
        MemoryTimeQueue<String> queue = new MemoryTimeQueue<>(1_000);
        queue.add("big", 100, 0);
        queue.add("small", 1, 10);
        queue.add("medium", 10, 20);
        queue.add("tiny", 0.5, 300);
        assertThat(queue.first(10, 500)).containsExactly("tiny", "small", "medium", "big");
        assertThat(queue.first(2, 1_015)).as("big and small have waited over 1 ms: oldest first").containsExactly("big", "small");
        assertThat(queue.first(10, 1_015)).containsExactly("big", "small", "tiny", "medium");
        queue.removeIf("small"::equals);
        assertThat(queue.first(10, 500)).containsExactly("tiny", "medium", "big");
        assertThat(queue.poll(500)).isEqualTo("tiny");
        assertThat(queue.size()).isEqualTo(2);
    }

    @Test
    void peekShowsWhatPollTakesAndRemovedRequestsAreSkipped() {
        MemoryTimeQueue<String> queue = new MemoryTimeQueue<>(1_000);
        queue.add("big", 100, 0);
        queue.add("small", 1, 10);
        queue.add("medium", 10, 20);
        assertThat(queue.peek(30)).isEqualTo("small");
        assertThat(queue.removeIf(item -> item.equals("small"))).isTrue();
        assertThat(queue.size()).isEqualTo(2);
        assertThat(queue.peek(30)).isEqualTo("medium");
        assertThat(queue.poll(30)).isEqualTo("medium");
        assertThat(queue.removeIf(item -> item.equals("absent"))).isFalse();
        assertThat(queue.poll(30)).isEqualTo("big");
        assertThat(queue.peek(30)).isNull();
    }

    @Test
    void fixedPoliciesOverrideTheWasteMinimumAndAFullHostTierTurnsSwapIntoDiscard() {
        CostProfile costs = new CostProfile(16, 4, new ForwardCostModel(0, 3.28e-4, 2.41e-2), 4e-5);
        CallDurationPredictor calls = new CallDurationPredictor(4, 30, Map.of("calculator", 0.005));
        assertThat(new PauseDecisions(PausePolicy.KEEP, 1000, costs, calls).decide(1000, 0, "human", true).choice())
                .isEqualTo(PauseChoice.KEEP);
        assertThat(new PauseDecisions(PausePolicy.DISCARD, 1000, costs, calls).decide(1000, 0, "calculator", true).choice())
                .isEqualTo(PauseChoice.DISCARD);
        PauseDecisions.Decision swapNoRoom = new PauseDecisions(PausePolicy.SWAP, 1000, costs, calls).decide(1000, 0, "x", false);
        assertThat(swapNoRoom.choice()).isEqualTo(PauseChoice.DISCARD);
        assertThat(swapNoRoom.hostFull()).isTrue();
        PauseDecisions lamps = new PauseDecisions(PausePolicy.LAMPS, 1000, costs, calls);
        assertThat(lamps.decide(1000, 0, "calculator", true).choice()).isEqualTo(PauseChoice.KEEP);
        assertThat(lamps.decide(1000, 0, "unknown-tool", true).choice()).as("30 s default").isNotEqualTo(PauseChoice.KEEP);
        assertThat(lamps.decide(1000, 0, "calculator", true).predictedSeconds()).isEqualTo(0.005);
        lamps.resumed("calculator", 0.5);
        assertThat(lamps.decide(1000, 0, "calculator", true).predictedSeconds()).as("learned from history").isEqualTo(0.5);
        assertThat(PausePolicy.parse(" LAMPS ")).isEqualTo(PausePolicy.LAMPS);
        assertThatThrownBy(() -> PausePolicy.parse("fifo")).hasMessageContaining("keep, discard, swap, infercept, lamps");
    }

    /** A request about to hold its KV through a long call ranks behind an equal one whose call is short. */
    @Test
    void theAreaOfARequestThatWillPauseIncludesThePredictedPauseWaste() {
        CostProfile costs = new CostProfile(16, 4, new ForwardCostModel(0, 3.28e-4, 2.41e-2), 4e-5);
        PauseDecisions lamps = new PauseDecisions(PausePolicy.LAMPS, 1000, costs,
                new CallDurationPredictor(4, 1, Map.of("calculator", 0.005, "human", 30.0)));
        double plain = lamps.area(500, 50, null, 0);
        double quick = lamps.area(500, 50, "calculator", 0);
        double slow = lamps.area(500, 50, "human", 0);
        assertThat(plain).isPositive();
        assertThat(quick).isGreaterThan(plain);
        assertThat(slow).isGreaterThan(quick);
        assertThat(lamps.area(100, 50, null, 0)).isLessThan(plain);
    }

    /** LAMPS ranks a session's first turn by the whole session: the turns predicted to follow count. */
    @Test
    void sessionsThatWentOnLongerAfterAToolMakeItsNextCallersRankBehind() {
        SessionLengthPredictor sessions = new SessionLengthPredictor(4);
        assertThat(sessions.followingTurns("agent", 0)).as("no history: no future turns").isZero();
        sessions.turnFinished(null, 100);
        sessions.resumed("agent", 40);
        // Two agent sessions: calls on turns 0..4 then a last turn; 0..2 then a last turn. A calculator session: one.
        sessions.sessionEnded(List.of("agent", "agent", "agent", "agent", "agent"));
        sessions.sessionEnded(List.of("agent", "agent", "agent"));
        sessions.sessionEnded(List.of("calculator"));
        assertThat(sessions.followingTurns("agent", 0)).as("first turns had 5 and 3 turns ahead").isEqualTo(4.0);
        assertThat(sessions.followingTurns("agent", 3)).isEqualTo(2.0);
        // No history at position 7 (an eighth turn): the tool's last 4 of 5, 4, 3, 2, 1, 3, 2, 1.
        assertThat(sessions.followingTurns("agent", 7)).isEqualTo(1.75);
        assertThat(sessions.followingTurns("calculator", 0)).isEqualTo(1.0);
        sessions.sessionAbandoned(List.of("calculator", "calculator"));
        assertThat(sessions.followingTurns("calculator", 1)).as("its last call never came back").isZero();
        assertThat(sessions.followingTurns("calculator", 5)).as("1, 1, 0 over all positions").isCloseTo(2.0 / 3, within(1e-9));
        assertThat(sessions.meanGeneratedTokens()).isEqualTo(100);
        assertThat(sessions.meanAddedTokens()).isEqualTo(40);
        assertThat(sessions.meanGeneratedTokens("agent")).as("no turn after an agent call yet: the overall mean").isEqualTo(100);
        assertThat(sessions.meanAddedTokens("agent")).isEqualTo(40);

        CostProfile costs = new CostProfile(16, 4, new ForwardCostModel(0, 3.28e-4, 2.41e-2), 4e-5);
        CallDurationPredictor calls = new CallDurationPredictor(4, 1, Map.of("calculator", 0.005, "agent", 0.005));
        PauseDecisions lamps = new PauseDecisions(PausePolicy.LAMPS, 1000, costs, calls, sessions);
        PauseDecisions turnOnly = new PauseDecisions(PausePolicy.LAMPS, 1000, costs, calls);
        assertThat(turnOnly.area(500, 50, "agent", 0)).isEqualTo(turnOnly.area(500, 50, "calculator", 0));
        assertThat(lamps.area(500, 50, "agent", 0)).isGreaterThan(lamps.area(500, 50, "calculator", 0));
        assertThat(lamps.area(500, 50, "calculator", 0)).isGreaterThan(turnOnly.area(500, 50, "calculator", 0));
        assertThat(lamps.area(500, 50, null, 0)).as("a turn without a call ends its session").isEqualTo(turnOnly.area(500, 50, null, 0));
        // A shorter first turn of a longer prompt can still rank behind: its later turns hold the larger context.
        assertThat(lamps.area(1500, 20, "agent", 0)).isGreaterThan(lamps.area(300, 150, "agent", 0));
    }

    @Test
    void theCostProfileRefitsFromObservedIterationsAndAveragesSwaps() {
        CostProfile costs = new CostProfile(64, 8, new ForwardCostModel(0, 1, 1), 1);
        for (int i = 0; i < 16; i++) {
            long tokens = 1 + i * 16;
            costs.observeIteration(tokens, 0.01 + 0.0002 * tokens);
        }
        assertThat(costs.forward().seconds(100)).isCloseTo(0.03, within(0.002));
        costs.observeSwap(100, 0.004);
        assertThat(costs.swapSecondsPerToken()).isCloseTo(4e-5, within(1e-9));
        costs.observeSwap(100, 0.014);
        assertThat(costs.swapSecondsPerToken()).as("moving average").isCloseTo(6e-5, within(1e-9));
        costs.observeIteration(0, 1);
        costs.observeIteration(5, Double.NaN);
        assertThat(costs.forward().seconds(100)).isCloseTo(0.03, within(0.002));
    }

    /** Turns after different tools differ: each tool's resumes and the turns after them are learned apart. */
    @Test
    void tokensOfTurnsAfterACallAreLearnedPerTool() {
        SessionLengthPredictor sessions = new SessionLengthPredictor(4);
        sessions.turnFinished(null, 200);
        sessions.resumed("agent-env", 30);
        sessions.turnFinished("agent-env", 20);
        sessions.resumed("chat-human", 80);
        sessions.turnFinished("chat-human", 150);
        assertThat(sessions.meanGeneratedTokens("agent-env")).isEqualTo(20);
        assertThat(sessions.meanAddedTokens("agent-env")).isEqualTo(30);
        assertThat(sessions.meanGeneratedTokens("chat-human")).isEqualTo(150);
        assertThat(sessions.meanAddedTokens("chat-human")).isEqualTo(80);
        assertThat(sessions.meanGeneratedTokens("calculator")).as("unseen: the overall mean").isEqualTo(sessions.meanGeneratedTokens());
        assertThat(sessions.meanGeneratedTokens()).isGreaterThan(20).isLessThan(200);

        // Same predicted number of following turns: the session whose turns after its tool are long ranks behind.
        sessions.sessionEnded(List.of("agent-env", "agent-env"));
        sessions.sessionEnded(List.of("chat-human", "chat-human"));
        CostProfile costs = new CostProfile(16, 4, new ForwardCostModel(0, 3.28e-4, 2.41e-2), 4e-5);
        CallDurationPredictor calls = new CallDurationPredictor(4, 1, Map.of("agent-env", 0.005, "chat-human", 0.005));
        PauseDecisions lamps = new PauseDecisions(PausePolicy.LAMPS, 1000, costs, calls, sessions);
        assertThat(lamps.area(500, 50, "chat-human", 0)).isGreaterThan(lamps.area(500, 50, "agent-env", 0));
    }

    /**
     * The online cost fit moves during a run; requests ranked minutes apart must compare on one scale, so a turn's own
     * decode is ranked in iterations, whatever the fitted iteration time.
     */
    @Test
    void aTurnRanksTheSameWhateverTheFittedIterationTime() {
        CallDurationPredictor calls = new CallDurationPredictor(4, 1, Map.of());
        PauseDecisions fast = new PauseDecisions(PausePolicy.LAMPS, 1000,
                new CostProfile(16, 4, new ForwardCostModel(0, 3.28e-4, 2.41e-2), 4e-5), calls);
        PauseDecisions slow = new PauseDecisions(PausePolicy.LAMPS, 1000,
                new CostProfile(16, 4, new ForwardCostModel(0, 1.6e-3, 1.2e-1), 4e-5), calls);
        assertThat(slow.area(500, 50, null, 0)).isEqualTo(fast.area(500, 50, null, 0)).isPositive();
    }
}
