package io.kvmesh.runtime.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A request's output as tests read it: its tokens, how it finished, its cached prompt tokens. */
public class RecordingSink implements TokenSink {

    public final List<Integer> tokens = new ArrayList<>();
    public final CompletableFuture<FinishReason> done = new CompletableFuture<>();
    public volatile int cached;

    @Override
    public void onToken(int tokenId) {
        tokens.add(tokenId);
    }

    @Override
    public void onFinish(FinishReason reason, int promptTokens, int completionTokens, int cachedPromptTokens) {
        cached = cachedPromptTokens;
        done.complete(reason);
    }

    /** How the request finished, waiting up to {@code seconds}. */
    public FinishReason await(int seconds) throws Exception {
        return done.get(seconds, TimeUnit.SECONDS);
    }

    public int[] tokenIds() {
        return tokens.stream().mapToInt(Integer::intValue).toArray();
    }
}
