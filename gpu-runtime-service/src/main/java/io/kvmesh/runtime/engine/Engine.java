package io.kvmesh.runtime.engine;

import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import io.kvmesh.runtime.kv.KvCacheManager;

/**
 * The serving loop: one thread that admits requests, asks the {@link Scheduler} for each iteration's work, runs it on
 * the {@link ForwardBackend}, samples, streams tokens to each request's sink and retires finished requests. Requests
 * arrive from any thread through {@link #submit}; everything else happens on the loop thread.
 */
public final class Engine implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(Engine.class);

    private final KvCacheManager kv;
    private final Scheduler scheduler;
    private final ForwardBackend backend;
    private final int maxContextTokens;
    private final LinkedBlockingQueue<SequenceState> submissions = new LinkedBlockingQueue<>();
    private final Thread loop;
    private volatile boolean running = true;
    private volatile EngineStats stats;
    private long promptTokens;
    private long generatedTokens;
    private long finished;

    public Engine(KvCacheManager kv, Scheduler scheduler, ForwardBackend backend, int maxContextTokens) {
        this.kv = kv;
        this.scheduler = scheduler;
        this.backend = backend;
        this.maxContextTokens = Math.min(maxContextTokens, kv.pool().totalBlocks() * kv.pool().blockSize());
        this.stats = snapshot();
        this.loop = Thread.ofPlatform().name("kvmesh-engine").unstarted(this::run);
    }

    public void start() {
        loop.start();
    }

    /** Longest prompt plus completion the engine accepts: the configured context, capped by the KV pool's size. */
    public int maxContextTokens() {
        return maxContextTokens;
    }

    /** Why a request of this size can never be served, or null when it can. */
    public String refusal(int promptTokens, int maxTokens) {
        long needed = (long) promptTokens + maxTokens;
        if (needed > maxContextTokens) {
            return "This model's maximum context length is " + maxContextTokens + " tokens. However, you requested "
                    + needed + " tokens (" + promptTokens + " in the messages, " + maxTokens + " in the completion).";
        }
        return null;
    }

    /** Queues a request; the returned handle cancels it. Throws when it can never fit. */
    public Handle submit(GenerationRequest request) {
        String refusal = refusal(request.promptTokens().length, request.maxTokens());
        if (refusal != null) {
            throw new IllegalArgumentException(refusal);
        }
        SequenceState sequence = new SequenceState(request);
        submissions.add(sequence);
        return () -> sequence.cancelled = true;
    }

    /** Cancels a submitted request (for example when its client went away). */
    @FunctionalInterface
    public interface Handle {
        void cancel();
    }

    public EngineStats stats() {
        return stats;
    }

    @Override
    public void close() {
        running = false;
        loop.interrupt();
        try {
            loop.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        while (running) {
            try {
                iterate();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.error("engine iteration failed", e);
            }
        }
    }

    private void iterate() throws InterruptedException {
        if (scheduler.isIdle()) {
            SequenceState first = submissions.poll(50, TimeUnit.MILLISECONDS);
            if (first != null) {
                admit(first);
            }
        }
        for (SequenceState next = submissions.poll(); next != null; next = submissions.poll()) {
            admit(next);
        }
        for (SequenceState cancelled : scheduler.removeCancelled()) {
            complete(cancelled, FinishReason.ABORT);
        }
        List<ScheduledChunk> chunks = scheduler.schedule();
        stats = snapshot();
        if (chunks.isEmpty()) {
            return;
        }
        for (ScheduledChunk chunk : chunks) {
            SequenceState sequence = chunk.sequence();
            if (!sequence.started) {
                sequence.started = true;
                try {
                    sequence.request.sink().onStart(sequence.cachedPromptTokens);
                } catch (RuntimeException e) {
                    LOG.warnf("request %s: its output failed at start: %s", sequence.id(), e.toString());
                }
            }
        }
        backend.forward(chunks);
        for (ScheduledChunk chunk : chunks) {
            SequenceState sequence = chunk.sequence();
            kv.markComputed(sequence.kv, sequence.kv.computedTokens() + chunk.tokens());
            if (sequence.kv.computedTokens() < sequence.kv.tokenCount()) {
                continue;
            }
            int token = backend.sampleNext(sequence);
            sequence.generated++;
            generatedTokens++;
            if (!deliver(sequence, token)) {
                complete(sequence, FinishReason.ABORT);
            } else if (backend.endsGeneration(token)) {
                complete(sequence, FinishReason.STOP);
            } else if (sequence.generated >= sequence.request.maxTokens()) {
                complete(sequence, FinishReason.LENGTH);
            } else if (!scheduler.append(sequence, token)) {
                LOG.debugf("request %s preempted: KV blocks ran out", sequence.id());
            }
        }
        stats = snapshot();
    }

    private void admit(SequenceState sequence) {
        promptTokens += sequence.promptLength();
        scheduler.add(sequence);
    }

    /** Hands a token to the request's sink; a failing sink ends that request, never the loop. */
    private boolean deliver(SequenceState sequence, int token) {
        try {
            sequence.request.sink().onToken(token);
            return true;
        } catch (RuntimeException e) {
            LOG.warnf("request %s: its output failed (%s); aborting it", sequence.id(), e.toString());
            return false;
        }
    }

    private void complete(SequenceState sequence, FinishReason reason) {
        scheduler.finish(sequence);
        finished++;
        // Whoever learns of the finish (a client, a test) sees the blocks already released.
        stats = snapshot();
        try {
            sequence.request.sink().onFinish(reason, sequence.promptLength(), sequence.generated,
                    Math.max(0, sequence.cachedPromptTokens));
        } catch (RuntimeException e) {
            LOG.warnf("request %s: finishing its output failed: %s", sequence.id(), e.toString());
        }
    }

    private EngineStats snapshot() {
        return new EngineStats(scheduler.runningCount(), scheduler.waitingCount() + submissions.size(),
                kv.pool().usedBlocks(), kv.pool().totalBlocks(), kv.queryTokens(), kv.hitTokens(), promptTokens,
                generatedTokens, finished, scheduler.preemptions());
    }
}
