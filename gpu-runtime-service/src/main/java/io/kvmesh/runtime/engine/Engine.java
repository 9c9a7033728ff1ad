package io.kvmesh.runtime.engine;

import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.jboss.logging.Logger;

import io.kvmesh.runtime.kv.KvCacheManager;
import io.kvmesh.runtime.lamps.CallDurationPredictor;
import io.kvmesh.runtime.lamps.CostProfile;
import io.kvmesh.runtime.lamps.ForwardCostModel;
import io.kvmesh.runtime.lamps.PauseChoice;
import io.kvmesh.runtime.lamps.PauseDecisions;
import io.kvmesh.runtime.lamps.PausePolicy;

/**
 * The serving loop: one thread that admits requests, asks the {@link Scheduler} for each iteration's work, runs it on
 * the {@link ForwardBackend}, samples, streams tokens to each request's sink and retires finished requests. Requests
 * arrive from any thread through {@link #submit}; everything else happens on the loop thread.
 *
 * <p>Pauses (LAMPS): a request of a session whose turn ends in a tool call finishes with
 * {@link FinishReason#TOOL_CALLS}, and its KV is kept (device blocks pinned), swapped (copied to the host tier and
 * pinned there) or discarded, as {@link PauseDecisions} says. The session's next turn is admitted like any request:
 * the prefix cache finds the kept blocks, the host tier the swapped ones (copied back before the forward pass), and
 * what is gone is recomputed; its pins are dropped once it is admitted, or when the pause times out. A turn of an
 * unknown or expired session is simply a fresh request. Every iteration's forward time and every copy's time feed
 * the {@link CostProfile} the decisions use.
 */
public final class Engine implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(Engine.class);
    /** Paused sessions held at most. */
    static final int MAX_PAUSED = 65_536;

    private final KvCacheManager kv;
    private final Scheduler scheduler;
    private final ForwardBackend backend;
    private final int maxContextTokens;
    private final PauseDecisions decisions;
    private final long pauseTimeoutNanos;
    /** Paused sessions in pause order (so the oldest expires first); the loop thread's. */
    private final Map<String, PausedSession> paused = new LinkedHashMap<>();
    /** Resuming turns not yet admitted: their pauses' pins wait with them. */
    private final Set<SequenceState> resuming = new LinkedHashSet<>();
    private volatile PauseStats pauseStats = PauseStats.NONE;
    private volatile boolean profileAtStart;
    private boolean profiled;
    private EngineClock clock = EngineClock.SYSTEM;
    private final long[] choices = new long[PauseChoice.values().length];
    private long hostFullFallbacks;
    private long blocksSwappedOut;
    private long blocksSwappedIn;
    private long recomputedTokens;
    private long resumed;
    private long expired;
    private long reclaimed;
    private double predictionError;
    private final LinkedBlockingQueue<SequenceState> submissions = new LinkedBlockingQueue<>();
    private final Thread loop;
    private volatile boolean running = true;
    private volatile EngineStats stats;
    private long promptTokens;
    private long generatedTokens;
    private long finished;
    private boolean announceQueued;

    /** An engine whose pauses follow the {@code lamps} policy with default costs (tests and tools). */
    public Engine(KvCacheManager kv, Scheduler scheduler, ForwardBackend backend, int maxContextTokens) {
        this(kv, scheduler, backend, maxContextTokens, defaultDecisions(), Duration.ofMinutes(5));
    }

    /**
     * @param decisions    what to do with a pausing request's KV (and the costs and predictions it learns)
     * @param pauseTimeout how long a paused session's KV is held for its next turn
     */
    public Engine(KvCacheManager kv, Scheduler scheduler, ForwardBackend backend, int maxContextTokens,
                  PauseDecisions decisions, Duration pauseTimeout) {
        this.kv = kv;
        this.scheduler = scheduler;
        this.backend = backend;
        this.maxContextTokens = Math.min(maxContextTokens, kv.pool().totalBlocks() * kv.pool().blockSize());
        this.decisions = decisions;
        this.pauseTimeoutNanos = pauseTimeout.toNanos();
        this.stats = snapshot();
        this.loop = Thread.ofPlatform().name("kvmesh-engine").unstarted(this::run);
        scheduler.reservingFor(this::pausedGrowth);
    }

    /** Blocks the next turns of sessions paused with their KV kept on the device are predicted to add. */
    private int pausedGrowth() {
        int blockSize = kv.pool().blockSize();
        int blocks = 0;
        for (PausedSession pause : paused.values()) {
            if (pause.deviceBlocks() != null) {
                double tokens = decisions.sessions().meanAddedTokens(pause.tool()) + decisions.sessions().meanGeneratedTokens(pause.tool());
                // Only full blocks are pinned: the context's partial last block comes back as a new one too.
                blocks += (int) Math.ceil(tokens / blockSize) + 1;
            }
        }
        return blocks;
    }

    private static PauseDecisions defaultDecisions() {
        return new PauseDecisions(PausePolicy.LAMPS, 1, new CostProfile(256, 32, new ForwardCostModel(0, 1e-4, 1e-2), 4e-5),
                new CallDurationPredictor(32, 1, Map.of()));
    }

    public void start() {
        loop.start();
    }

    /**
     * Announces each submitted request's prompt blocks as a {@code BlocksQueued} KV event as it arrives, so router
     * replicas other than the sender learn where its prefix will be before the pod has computed it.
     */
    public Engine announcingQueuedBlocks(boolean announce) {
        this.announceQueued = announce;
        return this;
    }

    /** Measures the backend on scratch blocks before serving (see {@link #profile}); call before {@link #start}. */
    public Engine profilingAtStart() {
        profileAtStart = true;
        return this;
    }

    /**
     * Reads every time (pauses, waits, measured forward and copy times) from {@code clock}, the scheduler's too: a
     * simulation's virtual clock, advanced by the {@code sim} backend, with the engine driven by {@link #step} instead
     * of its own thread. Call before {@link #start} or the first step.
     */
    public Engine timedBy(EngineClock clock) {
        this.clock = clock;
        scheduler.timedBy(clock);
        return this;
    }

    /** Where the pause decisions stand (policy, learned costs and call durations). */
    public PauseDecisions decisions() {
        return decisions;
    }

    public PauseStats pauseStats() {
        return pauseStats;
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
        if (announceQueued) {
            sequence.promptBlockHashes = kv.announceQueued(request.promptTokens(), request.cacheSalt());
        }
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
                if (scheduler.isIdle()) {
                    SequenceState first = submissions.poll(50, TimeUnit.MILLISECONDS);
                    if (first != null) {
                        admit(first);
                    }
                }
                if (!step() && !scheduler.isIdle()) {
                    // Requests wait on blocks that pauses hold: wait for a turn to come back (or a pause to fall due)
                    // without spinning the engine thread.
                    SequenceState next = submissions.poll(1, TimeUnit.MILLISECONDS);
                    if (next != null) {
                        admit(next);
                    }
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.error("engine iteration failed", e);
            }
        }
    }

    /**
     * One iteration, without waiting: admits what was submitted, schedules, runs the backend, samples and retires.
     * The engine's own thread ({@link #start}) calls it in a loop; a discrete-event driver calls it directly, on one
     * thread, instead of starting the engine. Returns whether any work ran (false: idle, or every waiting request is
     * blocked on pinned KV until time moves on).
     */
    public boolean step() {
        if (profileAtStart && !profiled) {
            profiled = true;
            try {
                profile();
            } catch (RuntimeException e) {
                LOG.warnf("profiling the backend at start failed (%s); the default costs stand until traffic refines them", e.toString());
            }
        }
        for (SequenceState next = submissions.poll(); next != null; next = submissions.poll()) {
            admit(next);
        }
        for (SequenceState cancelled : scheduler.removeCancelled()) {
            complete(cancelled, FinishReason.ABORT);
        }
        expirePauses(clock.nanoTime());
        if (scheduler.waitingCount() > 0) {
            releaseOverduePins(clock.nanoTime());
        }
        List<ScheduledChunk> chunks = scheduler.schedule();
        if (chunks.isEmpty() && scheduler.waitingCount() > 0 && reclaimPinnedPause(clock.nanoTime())) {
            chunks = scheduler.schedule();
        }
        swapIn(kv.takeSwapIns());
        stats = snapshot();
        if (chunks.isEmpty()) {
            return false;
        }
        int iterationTokens = 0;
        int prefillTokens = 0;
        for (ScheduledChunk chunk : chunks) {
            SequenceState sequence = chunk.sequence();
            iterationTokens += chunk.tokens();
            if (chunk.prefill()) {
                prefillTokens += chunk.tokens();
            }
            if (sequence.resumes != null) {
                // Admitted: the pinned blocks are referenced by the sequence itself now (or recomputed).
                recomputedTokens += Math.max(0, sequence.resumes.contextTokens() - sequence.kv.cachedPromptTokens());
                release(sequence.resumes);
                sequence.resumes = null;
                resuming.remove(sequence);
            }
            if (!sequence.started) {
                sequence.started = true;
                try {
                    sequence.request.sink().onStart(sequence.cachedPromptTokens);
                } catch (RuntimeException e) {
                    LOG.warnf("request %s: its output failed at start: %s", sequence.id(), e.toString());
                }
            }
        }
        long forwardStart = clock.nanoTime();
        backend.forward(chunks);
        if (prefillTokens * 2 >= iterationTokens) {
            // T_fwd prices recomputing a context, a prefill: decode-bound iterations (whose time the number of tokens
            // does not determine) would only blur the fit.
            decisions.costs().observeIteration(iterationTokens, (clock.nanoTime() - forwardStart) / 1e9);
        }
        for (ScheduledChunk chunk : chunks) {
            SequenceState sequence = chunk.sequence();
            if (sequence.kv == null) {
                // Preempted by an earlier sequence of this iteration that needed a block: it recomputes later.
                continue;
            }
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
        return true;
    }

    private void admit(SequenceState sequence) {
        promptTokens += sequence.promptLength();
        String session = sequence.request.session();
        PausedSession pause = session == null ? null : paused.remove(session);
        if (pause != null) {
            double seconds = (clock.nanoTime() - pause.pausedAtNanos()) / 1e9;
            decisions.resumed(pause.tool(), seconds);
            predictionError += Math.abs(seconds - pause.predictedSeconds());
            decisions.sessions().resumed(pause.tool(), sequence.promptLength() - pause.contextTokens());
            sequence.sessionTools = pause.sessionTools();
            resumed++;
            sequence.resumes = pause;
            resuming.add(sequence);
            scheduler.addResumed(sequence);
            return;
        }
        scheduler.add(sequence);
    }

    /**
     * Decides and applies what a pausing sequence's KV becomes, before the scheduler releases its blocks: pinned on
     * the device, copied to the host tier and pinned there, or left to the prefix cache's LRU.
     */
    private void pause(SequenceState sequence, String tool) {
        String session = sequence.request.session();
        int context = sequence.tokenCount();
        int fullBlocks = sequence.kv.computedTokens() / kv.pool().blockSize();
        boolean hostHasRoom = kv.host() != null && kv.host().freeBlocks() >= fullBlocks;
        PauseDecisions.Decision decision = decisions.decide(context, scheduler.runningTokens(sequence), tool, hostHasRoom);
        PauseChoice choice = decision.choice();
        kv.expectReuse(sequence.kv);
        int[] pinned = null;
        int[] hostPinned = null;
        if (choice == PauseChoice.KEEP) {
            pinned = kv.pin(sequence.kv);
        } else if (choice == PauseChoice.SWAP) {
            KvCacheManager.SwapOut out = kv.swapOut(sequence.kv);
            if (out == null) {
                choice = PauseChoice.DISCARD;
                hostFullFallbacks++;
            } else {
                long start = clock.nanoTime();
                backend.copyToHost(out.copies().from(), out.copies().to());
                decisions.costs().observeSwap((long) out.copies().blocks() * kv.pool().blockSize(), (clock.nanoTime() - start) / 1e9);
                blocksSwappedOut += out.copies().blocks();
                hostPinned = out.hostBlocks();
            }
        }
        if (decision.hostFull()) {
            hostFullFallbacks++;
        }
        choices[choice.ordinal()]++;
        List<String> tools = Stream.concat(sequence.sessionTools.stream(), Stream.of(tool)).toList();
        PausedSession previous = paused.put(session, new PausedSession(session, tool, choice, clock.nanoTime(),
                decision.predictedSeconds(), context, pinned, hostPinned, tools));
        if (previous != null) {
            release(previous);
        }
        // Sessions come from requests: a flood of them expires the oldest early rather than growing without bound.
        while (paused.size() > MAX_PAUSED) {
            Iterator<PausedSession> oldest = paused.values().iterator();
            PausedSession dropped = oldest.next();
            release(dropped);
            decisions.sessions().sessionAbandoned(dropped.sessionTools());
            oldest.remove();
            expired++;
        }
        LOG.debugf("pause %s on %s: %s (context %d tokens, call predicted %.3f s; waste keep %.3g, discard %.3g, swap %.3g B*s)",
                session, tool, choice, context, decision.predictedSeconds(), decision.wastes().keep(),
                decision.wastes().discard(), decision.wastes().swap());
    }

    /** The tool the request declared its turn ends in, else the one its output calls (as its sink recognises it). */
    private static String calledTool(SequenceState sequence) {
        if (sequence.toolCall() != null) {
            return sequence.toolCall();
        }
        try {
            return sequence.request.sink().calledTool();
        } catch (RuntimeException e) {
            LOG.warnf("request %s: recognising a tool call failed: %s", sequence.id(), e.toString());
            return null;
        }
    }

    /** Runs the host → device copies admissions planned, timing them for the cost profile. */
    private void swapIn(KvCacheManager.BlockCopies copies) {
        if (copies.blocks() == 0) {
            return;
        }
        long start = clock.nanoTime();
        backend.copyToDevice(copies.from(), copies.to());
        backend.finishCopies();  // the forward pass about to run waits for them anyway
        decisions.costs().observeSwap((long) copies.blocks() * kv.pool().blockSize(), (clock.nanoTime() - start) / 1e9);
        blocksSwappedIn += copies.blocks();
    }

    private void release(PausedSession pause) {
        if (pause.deviceBlocks() != null) {
            kv.unpin(pause.deviceBlocks());
        }
        if (pause.hostBlocks() != null) {
            kv.unpinHost(pause.hostBlocks());
        }
    }

    /**
     * Nothing can run while requests wait: the device blocks are held by pins. Pinned KV must never starve live
     * requests (with every block kept, even the resuming turns could not be admitted), so pins are given up — first
     * those of the paused session predicted to return last, then those of a resuming turn still waiting behind
     * another; the KV stays in the caches, evictable, as if discarded. Host-tier pins are left alone: they hold no
     * device block. When only new requests wait, a pause gives its pins up only if {@link #mayGiveWayToNewRequests}:
     * a session due back sooner than its context would take to recompute keeps its KV (memory × time order admits
     * many small sessions, and in overload reclaiming agent steps' KV between their 0.1 s calls cost more recompute
     * than it gave). Returns whether any pins were released.
     */
    private boolean reclaimPinnedPause(long now) {
        boolean onlyNewWait = scheduler.liveWaitingCount() == 0;
        PausedSession latest = null;
        double latestReturn = Double.NEGATIVE_INFINITY;
        for (PausedSession pause : paused.values()) {
            if (pause.deviceBlocks() == null) {
                continue;
            }
            double returnsIn = pause.predictedSeconds() - (now - pause.pausedAtNanos()) / 1e9;
            if (onlyNewWait && !mayGiveWayToNewRequests(returnsIn, pause.predictedSeconds(),
                    decisions.costs().forward().seconds(pause.contextTokens()))) {
                continue;
            }
            if (returnsIn > latestReturn) {
                latest = pause;
                latestReturn = returnsIn;
            }
        }
        if (latest != null) {
            paused.put(latest.session(), withoutDevicePins(latest));
        } else if (onlyNewWait) {
            return false;
        } else {
            SequenceState waiting = null;
            for (SequenceState sequence : resuming) {
                if (sequence.resumes.deviceBlocks() != null && (waiting == null || sequence.tokenCount() > waiting.tokenCount())) {
                    waiting = sequence;
                }
            }
            if (waiting == null) {
                return false;
            }
            latest = waiting.resumes;
            waiting.resumes = withoutDevicePins(latest);
        }
        reclaimed++;
        LOG.debugf("pause %s on %s gave up its pinned KV: requests were waiting for blocks", latest.session(), latest.tool());
        return true;
    }

    /**
     * While requests wait, a kept pause overdue by more than its predicted call and at least
     * {@value #OVERDUE_GRACE_SECONDS} s gives up its device pins (the KV stays cached, evictable, so a late return
     * still hits unless it was evicted meanwhile): its client has likely gone elsewhere — a cache-blind router sends a
     * session's next turn to any pod — and until the pause timeout (minutes) its blocks would shrink the pod for
     * everyone else. Measured in {@code ./kvmesh bench mesh}: after least-load's agentic run, 13–17 abandoned pauses per
     * pod still pinned up to 36% of a pod's KV when the next policy started.
     */
    private void releaseOverduePins(long now) {
        for (Map.Entry<String, PausedSession> entry : paused.entrySet()) {
            PausedSession pause = entry.getValue();
            double overdue = (now - pause.pausedAtNanos()) / 1e9 - pause.predictedSeconds();
            if (pause.deviceBlocks() != null && overdue > Math.max(pause.predictedSeconds(), OVERDUE_GRACE_SECONDS)) {
                entry.setValue(withoutDevicePins(pause));
                reclaimed++;
                LOG.debugf("pause %s on %s is overdue by %.1f s; it gave up its pinned KV", pause.session(), pause.tool(), overdue);
            }
        }
    }

    /** How long past its predicted return (at least) a kept pause holds its pins while requests wait. */
    static final int OVERDUE_GRACE_SECONDS = 10;

    /**
     * Whether a kept pause expected back in {@code returnsInSeconds} (negative: overdue) may give its pins to new
     * requests: when it will be out longer than recomputing its context takes (InferCept's keep-or-discard trade: the
     * blocks would idle longer than the recomputation costs), or when it is overdue by more than its predicted call
     * (its client may not come back).
     */
    static boolean mayGiveWayToNewRequests(double returnsInSeconds, double predictedSeconds, double recomputeSeconds) {
        return returnsInSeconds > recomputeSeconds || returnsInSeconds < -predictedSeconds;
    }

    /** The pause with its device pins released (the KV stays cached, evictable); host pins stay. */
    private PausedSession withoutDevicePins(PausedSession pause) {
        kv.unpin(pause.deviceBlocks());
        return new PausedSession(pause.session(), pause.tool(), pause.choice(), pause.pausedAtNanos(),
                pause.predictedSeconds(), pause.contextTokens(), null, pause.hostBlocks(), pause.sessionTools());
    }

    /** Drops pauses older than the timeout: their sessions never came back. */
    private void expirePauses(long now) {
        for (Iterator<PausedSession> it = paused.values().iterator(); it.hasNext(); ) {
            PausedSession pause = it.next();
            if (now - pause.pausedAtNanos() < pauseTimeoutNanos) {
                return;
            }
            it.remove();
            release(pause);
            decisions.sessions().sessionAbandoned(pause.sessionTools());
            expired++;
            LOG.debugf("pause %s on %s expired; its KV was released", pause.session(), pause.tool());
        }
    }

    /**
     * Measures the backend before serving: iterations of a few sizes on scratch blocks (and a copy each way when there
     * is a host tier), fitted into the cost profile the pause decisions start from. Traffic refines it online.
     */
    private void profile() {
        int blockSize = kv.pool().blockSize();
        for (int tokens : new int[] {1, 1, 8, 32, 96}) {
            if (tokens > kv.pool().freeBlocks() * blockSize) {
                break;
            }
            int[] ids = new int[tokens];
            for (int i = 0; i < tokens; i++) {
                ids[i] = 1 + i % 64;
            }
            SequenceState scratch = new SequenceState(new GenerationRequest("profile", ids, 1, PROFILE_SINK));
            scratch.kv = kv.scratch(ids);
            long start = clock.nanoTime();
            backend.forward(List.of(new ScheduledChunk(scratch, tokens, true)));
            double seconds = (clock.nanoTime() - start) / 1e9;
            backend.sampleNext(scratch);
            kv.release(scratch.kv);
            decisions.costs().observeIteration(tokens, seconds);
        }
        decisions.costs().refit();
        int copyBlocks = kv.host() == null ? 0 : Math.min(32, Math.min(kv.host().freeBlocks(), kv.pool().freeBlocks()));
        if (copyBlocks > 0) {
            int[] device = kv.pool().allocate(copyBlocks);
            int[] host = kv.host().allocate(copyBlocks);
            long start = clock.nanoTime();
            backend.copyToHost(device, host);
            backend.copyToDevice(host, device);
            backend.finishCopies();
            decisions.costs().observeSwap(2L * copyBlocks * blockSize, (clock.nanoTime() - start) / 1e9);
            kv.pool().free(device);
            kv.host().free(host);
        }
        ForwardCostModel model = decisions.costs().forward();
        LOG.infof("profiled: forward %.3g s/token^2 + %.3g s/token + %.3g s per iteration, swap %.3g s/token; pause policy %s",
                model.a(), model.b(), model.c(), decisions.costs().swapSecondsPerToken(), decisions.policy().configName());
    }

    private static final TokenSink PROFILE_SINK = new TokenSink() {
        @Override
        public void onToken(int tokenId) {
        }

        @Override
        public void onFinish(FinishReason reason, int promptTokens, int completionTokens, int cachedPromptTokens) {
        }
    };

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
        String tool = reason == FinishReason.ABORT ? null : calledTool(sequence);
        boolean inSession = sequence.request.session() != null && reason != FinishReason.ABORT;
        if (inSession) {
            decisions.sessions().turnFinished(sequence.sessionTools.isEmpty() ? null : sequence.sessionTools.getLast(), sequence.generated);
        }
        if (tool != null) {
            if (inSession && sequence.kv != null) {
                pause(sequence, tool);
            }
            reason = FinishReason.TOOL_CALLS;
        } else if (inSession && !sequence.sessionTools.isEmpty()) {
            decisions.sessions().sessionEnded(sequence.sessionTools);
        }
        if (sequence.resumes != null) {
            // Cancelled before it was admitted: its pause's pins go now.
            release(sequence.resumes);
            sequence.resumes = null;
            resuming.remove(sequence);
        }
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

    /** Device blocks pinned for paused sessions and for resuming turns still waiting to be admitted. */
    private int pinnedDeviceBlocks() {
        int blocks = 0;
        for (PausedSession pause : paused.values()) {
            blocks += pause.deviceBlocks() == null ? 0 : pause.deviceBlocks().length;
        }
        for (SequenceState sequence : resuming) {
            PausedSession pause = sequence.resumes;
            blocks += pause == null || pause.deviceBlocks() == null ? 0 : pause.deviceBlocks().length;
        }
        return blocks;
    }

    private EngineStats snapshot() {
        ForwardCostModel model = decisions.costs().forward();
        pauseStats = new PauseStats(paused.size(), pinnedDeviceBlocks(), choices[PauseChoice.KEEP.ordinal()], choices[PauseChoice.SWAP.ordinal()],
                choices[PauseChoice.DISCARD.ordinal()], hostFullFallbacks, blocksSwappedOut, blocksSwappedIn,
                recomputedTokens, resumed, expired, reclaimed, predictionError, model.b(), model.c(),
                decisions.costs().swapSecondsPerToken());
        return new EngineStats(scheduler.runningCount(), scheduler.waitingCount() + submissions.size(),
                kv.pool().usedBlocks(), kv.pool().totalBlocks(), kv.queryTokens(), kv.hitTokens(), promptTokens,
                generatedTokens, finished, scheduler.preemptions(), paused.size(),
                kv.host() == null ? 0 : kv.host().usedBlocks(), kv.host() == null ? 0 : kv.host().totalBlocks(),
                kv.hostHitTokens(), scheduler.prefixHolds());
    }
}
