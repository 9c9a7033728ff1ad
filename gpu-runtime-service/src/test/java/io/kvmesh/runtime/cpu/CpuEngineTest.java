package io.kvmesh.runtime.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.kvmesh.prefix.blocks.BlockHasher;
import io.kvmesh.runtime.engine.Engine;
import io.kvmesh.runtime.engine.GenerationRequest;
import io.kvmesh.runtime.engine.RecordingSink;
import io.kvmesh.runtime.engine.Scheduler;
import io.kvmesh.runtime.kv.BlockPool;
import io.kvmesh.runtime.kv.KvCacheManager;
import io.kvmesh.runtime.kv.KvEventSink;
import io.kvmesh.runtime.model.LlamaModel;

/** The engine on the cpu backend with the real fixture: cache hits and batching must not change greedy output. */
class CpuEngineTest {

    private static LlamaModel model;

    @BeforeAll
    static void load() throws Exception {
        model = LlamaModel.load(Path.of("../../shared/fixtures/llama-2-tiny-random.gguf"));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static Engine engine(int tokenBudget) {
        int blocks = 64;
        KvCacheManager kv = new KvCacheManager(new BlockPool(blocks, 16, KvEventSink.NONE), new BlockHasher("fixture", "", 16));
        Engine engine = new Engine(kv, new Scheduler(kv, tokenBudget, 8), new CpuBackend(model, blocks, 16), 1024);
        engine.start();
        return engine;
    }

    private static int[] prompt(String text) {
        return model.tokenizer().encode(text, true);
    }

    @Test
    void aPrefixCacheHitGivesTheSameGreedyTokens() throws Exception {
        String shared = "The KV cache keeps keys and values of every earlier token, so a shared prefix is computed once. ";
        try (Engine engine = engine(2048)) {
            RecordingSink cold = new RecordingSink();
            engine.submit(new GenerationRequest("cold", prompt(shared + "Question one?"), 12, cold));
            cold.await(60);
            assertThat(cold.cached).isZero();
            RecordingSink warm = new RecordingSink();
            engine.submit(new GenerationRequest("warm", prompt(shared + "Question one?"), 12, warm));
            warm.await(60);
            assertThat(warm.cached).as("cached prompt tokens").isGreaterThanOrEqualTo(16);
            assertThat(warm.tokens).isEqualTo(cold.tokens);
        }
    }

    @Test
    void batchedAndChunkedEqualsSingle() throws Exception {
        List<String> texts = List.of("First request about paged attention.", "Second, a different prompt entirely!",
                "Third: continuous batching interleaves decode steps.", "Fourth one.");
        List<List<Integer>> single = new ArrayList<>();
        try (Engine engine = engine(2048)) {
            for (String text : texts) {
                RecordingSink output = new RecordingSink();
                engine.submit(new GenerationRequest("single-" + single.size(), prompt(text), 10, output));
                output.await(60);
                single.add(output.tokens);
            }
        }
        // A small budget forces chunked prefill and mixes prefill with other sequences' decodes.
        try (Engine engine = engine(7)) {
            List<RecordingSink> outputs = new ArrayList<>();
            for (String text : texts) {
                RecordingSink output = new RecordingSink();
                outputs.add(output);
                engine.submit(new GenerationRequest("batched-" + outputs.size(), prompt(text), 10, output));
            }
            for (int i = 0; i < texts.size(); i++) {
                outputs.get(i).await(60);
                assertThat(outputs.get(i).tokens).as(texts.get(i)).isEqualTo(single.get(i));
            }
        }
    }
}
