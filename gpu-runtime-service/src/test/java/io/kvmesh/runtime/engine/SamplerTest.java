package io.kvmesh.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class SamplerTest {

    private static final float[] LOGITS = {0.1f, 2.0f, (float) Math.log(3) + 2.0f, -1f, 1.5f};

    @Test
    void temperatureZeroTopKOneAndTinyTopPAreGreedy() {
        SplittableRandom random = new SplittableRandom(1);
        assertThat(Sampler.sample(LOGITS, SamplingParams.GREEDY, random)).isEqualTo(2);
        for (int i = 0; i < 50; i++) {
            assertThat(Sampler.sample(LOGITS, new SamplingParams(1.0, 1, 1.0, null), random)).isEqualTo(2);
            assertThat(Sampler.sample(LOGITS, new SamplingParams(1.0, 0, 1e-6, null), random)).isEqualTo(2);
        }
    }

    @Test
    void theSameSeedGivesTheSameTokens() {
        SamplingParams params = new SamplingParams(0.8, 0, 0.95, 7L);
        SplittableRandom a = new SplittableRandom(7);
        SplittableRandom b = new SplittableRandom(7);
        for (int i = 0; i < 100; i++) {
            assertThat(Sampler.sample(LOGITS, params, a)).isEqualTo(Sampler.sample(LOGITS, params, b));
        }
    }

    @Test
    void samplesFollowTheSoftmaxOfTheKeptTokens() {
        // top_k 2 keeps ids 2 and 1 whose weights are 3 : 1.
        SplittableRandom random = new SplittableRandom(3);
        int[] counts = new int[LOGITS.length];
        int draws = 20_000;
        for (int i = 0; i < draws; i++) {
            counts[Sampler.sample(LOGITS, new SamplingParams(1.0, 2, 1.0, null), random)]++;
        }
        assertThat(counts[0] + counts[3] + counts[4]).isZero();
        assertThat(counts[2] / (double) draws).isCloseTo(0.75, org.assertj.core.data.Offset.offset(0.02));
    }
}
