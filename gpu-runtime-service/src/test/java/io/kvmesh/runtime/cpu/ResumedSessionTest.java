package io.kvmesh.runtime.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.kvmesh.prefix.blocks.BlockHasher;
import io.kvmesh.prefix.events.Medium;
import io.kvmesh.runtime.engine.Engine;
import io.kvmesh.runtime.engine.FinishReason;
import io.kvmesh.runtime.engine.GenerationRequest;
import io.kvmesh.runtime.engine.PauseStats;
import io.kvmesh.runtime.engine.RecordingSink;
import io.kvmesh.runtime.engine.SamplingParams;
import io.kvmesh.runtime.engine.Scheduler;
import io.kvmesh.runtime.kv.BlockPool;
import io.kvmesh.runtime.kv.KvCacheManager;
import io.kvmesh.runtime.kv.KvEventSink;
import io.kvmesh.runtime.lamps.CallDurationPredictor;
import io.kvmesh.runtime.lamps.CostProfile;
import io.kvmesh.runtime.lamps.ForwardCostModel;
import io.kvmesh.runtime.lamps.PauseDecisions;
import io.kvmesh.runtime.lamps.PausePolicy;
import io.kvmesh.runtime.model.LlamaModel;

/**
 * A session paused on a tool call resumes with the same greedy tokens whatever happened to its KV: kept on the
 * device, swapped to the host tier and copied back (a real copy between the cpu backend's two stores), or discarded
 * and recomputed — against the same second turn served cold by a fresh engine. Between the turns, under swap and
 * discard, another request fills the device pool so the paused blocks really leave it.
 */
class ResumedSessionTest {

    private static final int DEVICE_BLOCKS = 24;
    private static final int HOST_BLOCKS = 16;
    private static LlamaModel model;

    @BeforeAll
    static void load() throws Exception {
        model = LlamaModel.load(Path.of("../../shared/fixtures/llama-2-tiny-random.gguf"));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static Engine engine(PausePolicy policy) {
        KvCacheManager kv = new KvCacheManager(new BlockPool(DEVICE_BLOCKS, 16, KvEventSink.NONE),
                new BlockPool(HOST_BLOCKS, 16, KvEventSink.NONE, Medium.HOST), new BlockHasher("fixture", "", 16));
        PauseDecisions decisions = new PauseDecisions(policy, 1024, new CostProfile(64, 8, new ForwardCostModel(0, 1e-3, 1e-2), 1e-5),
                new CallDurationPredictor(8, 1, Map.of()));
        Engine engine = new Engine(kv, new Scheduler(kv, 256, 8), new CpuBackend(model, DEVICE_BLOCKS, HOST_BLOCKS, 16),
                1024, decisions, Duration.ofMinutes(1));
        engine.start();
        return engine;
    }

    private static RecordingSink run(Engine engine, String id, int[] prompt, int maxTokens, String session, String tool) throws Exception {
        RecordingSink output = new RecordingSink();
        engine.submit(new GenerationRequest(id, prompt, maxTokens, SamplingParams.GREEDY, output, "", session, tool));
        output.await(120);
        return output;
    }

    private static int[] concat(int[]... parts) {
        return java.util.Arrays.stream(parts).flatMapToInt(IntStream::of).toArray();
    }

    @ParameterizedTest
    @EnumSource(value = PausePolicy.class, names = {"KEEP", "SWAP", "DISCARD"})
    void aResumedSessionGivesTheSameGreedyTokensAsAColdSecondTurn(PausePolicy policy) throws Exception {
        int[] firstTurn = model.tokenizer().encode("User: what is 6 times 7? Call the calculator tool and explain the steps.", true);
        int[] toolResult = model.tokenizer().encode(" Tool result: 42. Assistant:", false);

        int[] secondTurn;
        List<Integer> cold;
        try (Engine reference = engine(PausePolicy.DISCARD)) {
            RecordingSink first = run(reference, "ref-1", firstTurn, 14, null, null);
            secondTurn = concat(firstTurn, first.tokenIds(), toolResult);
            try (Engine fresh = engine(PausePolicy.DISCARD)) {
                cold = run(fresh, "cold-2", secondTurn, 12, null, null).tokens;
            }
        }

        try (Engine engine = engine(policy)) {
            RecordingSink first = run(engine, "turn-1", firstTurn, 14, "s1", "calculator");
            assertThat(first.done.get()).isEqualTo(FinishReason.TOOL_CALLS);
            assertThat(concat(firstTurn, first.tokenIds(), toolResult)).isEqualTo(secondTurn);
            PauseStats paused = engine.pauseStats();
            assertThat(paused.paused()).isEqualTo(1);
            if (policy != PausePolicy.KEEP) {
                // Another request takes every device block: the paused context's device copies are evicted.
                int[] filler = IntStream.range(0, DEVICE_BLOCKS * 16 - 2).map(i -> 1000 + i % 500).toArray();
                run(engine, "filler", filler, 1, null, null);
            }
            RecordingSink second = run(engine, "turn-2", secondTurn, 12, "s1", null);
            assertThat(second.done.get()).isEqualTo(FinishReason.LENGTH);
            assertThat(second.tokens).as("greedy tokens after a %s pause", policy).isEqualTo(cold);

            PauseStats stats = engine.pauseStats();
            int contextBlocks = (firstTurn.length + 13) / 16;
            assertThat(stats.resumed()).isEqualTo(1);
            assertThat(stats.paused()).isZero();
            switch (policy) {
                case KEEP -> {
                    assertThat(stats.kept()).isEqualTo(1);
                    assertThat(second.cached).as("kept blocks found on the device").isEqualTo(contextBlocks * 16);
                    assertThat(stats.recomputedTokens()).isLessThan(16);
                }
                case SWAP -> {
                    assertThat(stats.swapped()).isEqualTo(1);
                    assertThat(stats.blocksSwappedOut()).isEqualTo(contextBlocks);
                    assertThat(stats.blocksSwappedIn()).as("copied back, not recomputed").isEqualTo(contextBlocks);
                    assertThat(second.cached).isEqualTo(contextBlocks * 16);
                }
                case DISCARD -> {
                    assertThat(stats.discarded()).isEqualTo(1);
                    assertThat(second.cached).as("evicted, so recomputed").isZero();
                    assertThat(stats.recomputedTokens()).isGreaterThanOrEqualTo(contextBlocks * 16L);
                }
                default -> throw new AssertionError(policy);
            }
        }
    }
}
