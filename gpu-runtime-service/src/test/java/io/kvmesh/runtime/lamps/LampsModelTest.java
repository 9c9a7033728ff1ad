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
}
