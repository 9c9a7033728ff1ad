package io.kvmesh.runtime.engine;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.function.IntSupplier;

import io.kvmesh.runtime.kv.KvCacheManager;
import io.kvmesh.runtime.kv.SequenceBlocks;
import it.unimi.dsi.fastutil.ints.IntOpenHashSet;

/**
 * Continuous batching: which sequences run in the next iteration, within a token budget. Running sequences go first
 * (decodes need one token, prefills continue in chunks); then preempted sequences, then sessions' turns resuming
 * after a tool call (the first that fits, in resume order), then waiting ones in the {@link WaitingQueue}'s order
 * (arrival, or LAMPS' memory × time; among its head, the longest device-cached prefix first) while budget, the
 * running limit and the blocks allow — a new request only while it leaves free what the running sequences and paused
 * sessions are predicted to grow into ({@link #liveWorkReserve}) and the cached blocks other queued requests will
 * reuse ({@link #keepingQueuedPrefixes}) and the reused prefixes freed moments ago ({@link #protectingReusedPrefixes})
 * — their prompts chunked into what budget is left. A
 * waiting request whose prompt continues into blocks a running
 * sequence is still computing is held back until they are written, then admitted first, reusing them: two requests
 * with the same new prefix arriving together compute it once. When a sequence cannot grow, the newest running
 * sequence is preempted (its blocks released, recomputed later from the prefix cache).
 * Never touches physical blocks itself: that is {@link KvCacheManager}'s job. Not thread-safe: the engine thread's.
 */
public final class Scheduler {

    private final KvCacheManager kv;
    private final int tokenBudget;
    private final int maxRunning;
    private final Deque<SequenceState> preempted = new ArrayDeque<>();
    /** Sessions' next turns after a tool call: running requests that were intercepted, not new arrivals. */
    private final Deque<SequenceState> resumed = new ArrayDeque<>();
    private final WaitingQueue waiting;
    /** Waiting requests held back while running sequences compute blocks their prompts continue into. */
    private final List<SequenceState> heldForPrefix = new ArrayList<>();
    private final List<SequenceState> running = new ArrayList<>();
    private int holdMinBlocks = DEFAULT_HOLD_MIN_BLOCKS;
    private EngineClock clock = EngineClock.SYSTEM;
    /** Blocks paused sessions are predicted to need when their next turns come ({@link #reservingFor}). */
    private IntSupplier pausedGrowth;
    private long preemptions;
    private long prefixHolds;

    /** SGLang defers a request sharing at least 32 tokens with one scheduled ahead of it; with 16-token blocks, 2. */
    public static final int DEFAULT_HOLD_MIN_BLOCKS = 2;
    /** SGLang's defaults: init_new_token_ratio 0.7, min 0.7 x 0.14, decay steps 600, max_new_tokens clipped to 4096. */
    static final double INIT_NEW_TOKEN_RATIO = 0.7;
    static final double MIN_NEW_TOKEN_RATIO = 0.098;
    static final int NEW_TOKEN_RATIO_DECAY_STEPS = 600;
    static final int CLIP_NEW_TOKENS_ESTIMATE = 4096;
    private static final double NEW_TOKEN_RATIO_DECAY = (INIT_NEW_TOKEN_RATIO - MIN_NEW_TOKEN_RATIO) / NEW_TOKEN_RATIO_DECAY_STEPS;
    private double newTokenRatio = INIT_NEW_TOKEN_RATIO;
    private int cachedPrefixScan;
    private boolean keepQueuedPrefixes;
    /** The free cached blocks the scanned waiting requests will reuse ({@link #keepingQueuedPrefixes}). */
    private final IntOpenHashSet queuedPrefixBlocks = new IntOpenHashSet();
    /**
     * The request this admission step's scan picked while collecting {@link #queuedPrefixBlocks}, and its
     * device-cached blocks; null when the step did not scan (a released hold, or no keeping).
     */
    private SequenceState scanned;
    private int scannedCachedBlocks;
    /** How long a reused prefix stays protected from admissions once freed; 0 protects none ({@link #protectingReusedPrefixes}). */
    private long protectReusedNanos;
    private int protectMinRunning;
    /** A waiting head this old is admitted before any request with a longer cached prefix. */
    static final int MAX_JUMP_WAIT_SECONDS = 10;
    /** A held request is admitted anyway after this long, whatever is still in flight. */
    private static final long MAX_HOLD_NANOS = 5_000_000_000L;

    /** Admits waiting sequences in arrival order. */
    public Scheduler(KvCacheManager kv, int tokenBudget, int maxRunning) {
        this(kv, tokenBudget, maxRunning, WaitingQueue.arrivalOrder());
    }

    public Scheduler(KvCacheManager kv, int tokenBudget, int maxRunning, WaitingQueue waiting) {
        if (tokenBudget < 1 || maxRunning < 1) {
            throw new IllegalArgumentException("token budget and running limit must be positive");
        }
        this.kv = kv;
        this.tokenBudget = tokenBudget;
        this.maxRunning = maxRunning;
        this.waiting = waiting;
    }

    public void add(SequenceState sequence) {
        sequence.queuedAtNanos = clock.nanoTime();
        waiting.add(sequence, sequence.queuedAtNanos);
    }

    /**
     * Looks at the first {@code scan} waiting requests (in the queue's order) and admits first the one whose prompt
     * has the longest prefix cached on the device (SGLang's longest-prefix-match policy), unless the head has waited
     * {@value #MAX_JUMP_WAIT_SECONDS} s: under load, requests reusing a cached prefix run before admissions of other
     * prefixes evict it. 0 keeps the queue's order.
     */
    public Scheduler preferringCachedPrefixes(int scan) {
        if (scan < 0) {
            throw new IllegalArgumentException("scan must not be negative");
        }
        this.cachedPrefixScan = scan;
        return this;
    }

    /**
     * While sequences run, admits a new request only if it leaves the free cached blocks that the other waiting
     * requests of the scan ({@link #preferringCachedPrefixes}) will reuse, and has the pool evict those last: a queue
     * of requests for a pod's prefixes must not evict those prefixes to raise the batch (each eviction is a whole
     * prefix computed again, worth many batch slots). A request whose turn came by age (waited
     * {@value #MAX_JUMP_WAIT_SECONDS} s) and an idle pod admit regardless.
     */
    public Scheduler keepingQueuedPrefixes(boolean keep) {
        this.keepQueuedPrefixes = keep;
        return this;
    }

    /**
     * With {@link #keepingQueuedPrefixes}, while at least {@code minRunning} sequences run, a new request is admitted
     * only if it also leaves free the reused prefixes freed within the last {@code window}: a group's shared prompt
     * that no request happens to hold or wait for at this moment, whose next request is likely a moment away. Filling
     * the pool past it makes the batch a few requests larger and costs a whole prefix computed again when that request
     * comes (measured in {@code ./kvmesh bench mesh} at 75% of KV: most of what keeps the pods under their bound);
     * below {@code minRunning} running (a small batch is what decodes pay for) and for requests whose turn came by age,
     * admission is as before. A zero window protects nothing.
     */
    public Scheduler protectingReusedPrefixes(Duration window, int minRunning) {
        if (window.isNegative() || minRunning < 1) {
            throw new IllegalArgumentException("window must not be negative and minRunning must be positive");
        }
        this.protectReusedNanos = window.toNanos();
        this.protectMinRunning = minRunning;
        return this;
    }

    /** Reads the time (how long requests have waited or been held, when blocks were freed) from {@code clock}. */
    public Scheduler timedBy(EngineClock clock) {
        this.clock = clock;
        kv.pool().timedBy(clock::nanoTime);
        return this;
    }

    /**
     * Holds a waiting request back while at least {@code minBlocks} blocks its prompt continues into are being
     * computed by a running sequence ({@link KvCacheManager#blocksInFlight}); 0 never holds.
     */
    public Scheduler holdingForInFlightPrefix(int minBlocks) {
        if (minBlocks < 0) {
            throw new IllegalArgumentException("minBlocks must not be negative");
        }
        this.holdMinBlocks = minBlocks;
        return this;
    }

    /**
     * Adds {@code pausedGrowth} to the blocks a new request must leave free: what the next turns of paused sessions
     * whose KV is kept on the device are predicted to add (the engine's {@code SessionLengthPredictor}), so they can
     * resume at once instead of waiting with that KV pinned behind new prompts.
     */
    public Scheduler reservingFor(IntSupplier pausedGrowth) {
        this.pausedGrowth = pausedGrowth;
        return this;
    }

    /**
     * Queues a session's turn that resumes after a tool call ahead of new arrivals (InferCept: resumed requests keep
     * their original arrival order), so KV kept for it is not left idle behind the queue.
     */
    public void addResumed(SequenceState sequence) {
        resumed.addLast(sequence);
    }

    /** Tokens of the running sequences, except {@code excluded} ({@code C_other} of the waste model). */
    public long runningTokens(SequenceState excluded) {
        long tokens = 0;
        for (SequenceState sequence : running) {
            if (sequence != excluded) {
                tokens += sequence.tokenCount();
            }
        }
        return tokens;
    }

    public int runningCount() {
        return running.size();
    }

    /** Waiting requests that already hold or held KV: preempted sequences and sessions' turns resuming. */
    public int liveWaitingCount() {
        return preempted.size() + resumed.size();
    }

    public int waitingCount() {
        return preempted.size() + resumed.size() + heldForPrefix.size() + waiting.size();
    }

    /** Requests held back since start because another sequence was computing their prefix. */
    public long prefixHolds() {
        return prefixHolds;
    }

    public long preemptions() {
        return preemptions;
    }

    public boolean isIdle() {
        return running.isEmpty() && preempted.isEmpty() && resumed.isEmpty() && heldForPrefix.isEmpty() && waiting.size() == 0;
    }

    /** The next iteration's work; empty when nothing can run. */
    public List<ScheduledChunk> schedule() {
        int budget = tokenBudget;
        List<ScheduledChunk> chunks = new ArrayList<>();
        for (SequenceState sequence : running) {
            if (budget == 0) {
                break;
            }
            budget -= plan(sequence, budget, chunks);
        }
        long now = clock.nanoTime();
        newTokenRatio = Math.max(MIN_NEW_TOKEN_RATIO, newTokenRatio - NEW_TOKEN_RATIO_DECAY);
        int reserve = -1;
        while (budget > 0 && running.size() < maxRunning) {
            SequenceState next;
            if (!preempted.isEmpty()) {
                next = admitted(preempted.peekFirst()) ? preempted.pollFirst() : null;
            } else if (!resumed.isEmpty()) {
                next = admitFirstFitting(resumed);
            } else {
                scanned = null;
                SequenceState held = releasedHold(now);
                SequenceState candidate = held != null ? held : nextWaiting(now);
                if (candidate == null) {
                    break;
                }
                if (held == null && holdMinBlocks > 0
                        && kv.blocksInFlight(candidate.request.promptTokens(), promptHashes(candidate)) >= holdMinBlocks) {
                    takeWaiting(candidate, now);
                    candidate.heldSinceNanos = now;
                    heldForPrefix.add(candidate);
                    prefixHolds++;
                    continue;
                }
                if (!running.isEmpty()) {
                    reserve = reserve < 0 ? liveWorkReserve() : reserve;
                    if (freeAfterAdmitting(candidate, now) < reserve) {
                        break;
                    }
                }
                if (!admitted(candidate)) {
                    break;
                }
                if (held != null) {
                    heldForPrefix.remove(held);
                } else {
                    takeWaiting(candidate, now);
                }
                next = candidate;
            }
            if (next == null) {
                break;
            }
            running.add(next);
            budget -= plan(next, budget, chunks);
        }
        return chunks;
    }

    /**
     * The waiting queue's head, or among its first {@link #cachedPrefixScan} the one with the most blocks cached. While
     * sequences run and {@link #keepingQueuedPrefixes}, the same walk collects {@link #queuedPrefixBlocks} for the
     * admission check.
     */
    private SequenceState nextWaiting(long now) {
        SequenceState head = waiting.peek(now);
        if (head == null || cachedPrefixScan == 0 || waitedItsTurn(head, now)) {
            return head;
        }
        boolean keep = keepQueuedPrefixes && !running.isEmpty();
        queuedPrefixBlocks.clear();
        // The list starts with the head, which wins ties.
        SequenceState best = head;
        int bestBlocks = -1;
        for (SequenceState sequence : waiting.first(cachedPrefixScan, now)) {
            int[] prompt = sequence.request.promptTokens();
            int blocks = keep ? kv.keepCachedPrefix(prompt, promptHashes(sequence), queuedPrefixBlocks)
                    : kv.deviceCachedBlocks(prompt, promptHashes(sequence));
            if (blocks > bestBlocks) {
                best = sequence;
                bestBlocks = blocks;
            }
        }
        if (keep) {
            scanned = best;
            scannedCachedBlocks = bestBlocks;
        }
        return best;
    }

    private static boolean waitedItsTurn(SequenceState sequence, long now) {
        return now - sequence.queuedAtNanos >= MAX_JUMP_WAIT_SECONDS * 1_000_000_000L;
    }

    /**
     * The device's free blocks once {@code candidate} is admitted; with {@link #keepingQueuedPrefixes}, less the free
     * cached blocks the other scanned waiting requests will reuse.
     */
    private int freeAfterAdmitting(SequenceState candidate, long now) {
        int[] prompt = candidate.request.promptTokens();
        if (!keepQueuedPrefixes || cachedPrefixScan == 0 || waitedItsTurn(candidate, now)) {
            return kv.pool().freeBlocks() - kv.blocksToAdmit(prompt, promptHashes(candidate));
        }
        // The candidate's own free hits count as kept too: admitting it references them.
        int cachedBlocks;
        if (candidate == scanned) {
            cachedBlocks = scannedCachedBlocks;
        } else {
            // A released hold: nextWaiting did not scan for it.
            queuedPrefixBlocks.clear();
            cachedBlocks = kv.keepCachedPrefix(prompt, promptHashes(candidate), queuedPrefixBlocks);
            for (SequenceState sequence : waiting.first(cachedPrefixScan, now)) {
                if (sequence != candidate) {
                    kv.keepCachedPrefix(sequence.request.promptTokens(), promptHashes(sequence), queuedPrefixBlocks);
                }
            }
        }
        int free = kv.pool().freeBlocks() - queuedPrefixBlocks.size() - (kv.blocksFor(prompt.length) - cachedBlocks);
        if (protectReusedNanos > 0 && running.size() >= protectMinRunning) {
            free -= kv.pool().recentlyFreedReusedBlocks(now - protectReusedNanos, queuedPrefixBlocks);
        }
        return free;
    }

    /** The prompt's reusable block hashes, computed the first time a waiting request is looked at. */
    private long[] promptHashes(SequenceState sequence) {
        if (sequence.promptBlockHashes == null) {
            sequence.promptBlockHashes = kv.reusableBlockHashes(sequence.request.promptTokens(), sequence.request.cacheSalt());
        }
        return sequence.promptBlockHashes;
    }

    /** Takes {@code candidate} out of the waiting queue: by poll when it is the queue's own head (the usual case). */
    private void takeWaiting(SequenceState candidate, long now) {
        if (waiting.peek(now) == candidate) {
            waiting.poll(now);
        } else {
            waiting.remove(candidate);
        }
    }

    /** Gives {@code sequence} its blocks (prefix cache hits plus new ones); false when the pool has too few free. */
    private boolean admitted(SequenceState sequence) {
        SequenceBlocks blocks = kv.admit(sequence.id(), sequence.tokens.toIntArray(), sequence.request.cacheSalt());
        if (blocks == null) {
            return false;
        }
        sequence.kv = blocks;
        if (sequence.cachedPromptTokens < 0) {
            sequence.cachedPromptTokens = blocks.cachedPromptTokens();
        }
        return true;
    }

    /**
     * The first resuming turn, in resume order, that fits, taken from the queue; null when none does. A turn whose
     * context must come back from the host tier or be recomputed (a swapped or discarded pause: its whole context)
     * does not hold up the turns behind it whose KV was kept and that need only a few blocks — they would otherwise
     * wait with that KV pinned and idle (measured: at 0.6 sessions/s in {@code ./kvmesh bench lamps} this alone took
     * the mean session E2E from 172 s to 56 s). Nothing new is admitted while any resuming turn waits, so the one
     * that does not fit gets the blocks as running sequences finish.
     */
    private SequenceState admitFirstFitting(Deque<SequenceState> queue) {
        for (Iterator<SequenceState> it = queue.iterator(); it.hasNext(); ) {
            SequenceState candidate = it.next();
            if (admitted(candidate)) {
                it.remove();
                return candidate;
            }
        }
        return null;
    }

    /**
     * Free blocks a new request must leave behind (SGLang's {@code new_token_ratio}): the running sequences' growth to
     * their token limits (each clipped to {@value #CLIP_NEW_TOKENS_ESTIMATE} tokens) scaled by a ratio that starts at
     * {@value #INIT_NEW_TOKEN_RATIO}, decays to {@value #MIN_NEW_TOKEN_RATIO} over {@value #NEW_TOKEN_RATIO_DECAY_STEPS}
     * iterations and goes back up when a sequence is preempted; plus what paused sessions' next turns are predicted to
     * add ({@link #reservingFor}). Admitting past it fills the pool with new prompts that running sequences then
     * preempt as they grow, and leaves resuming turns waiting with their kept KV pinned.
     */
    private int liveWorkReserve() {
        long tokens = 0;
        for (SequenceState sequence : running) {
            tokens += Math.min(sequence.remainingTokens(), CLIP_NEW_TOKENS_ESTIMATE);
        }
        int blockSize = kv.pool().blockSize();
        int blocks = (int) Math.ceil(newTokenRatio * tokens / blockSize);
        return blocks + (pausedGrowth == null ? 0 : pausedGrowth.getAsInt());
    }

    /** The longest-held request whose prefix is written now (or that was held too long); null when none is. */
    private SequenceState releasedHold(long now) {
        for (SequenceState sequence : heldForPrefix) {
            if (now - sequence.heldSinceNanos >= MAX_HOLD_NANOS
                    || kv.blocksInFlight(sequence.request.promptTokens(), promptHashes(sequence)) < holdMinBlocks) {
                return sequence;
            }
        }
        return null;
    }

    private static int plan(SequenceState sequence, int budget, List<ScheduledChunk> chunks) {
        int uncomputed = sequence.kv.tokenCount() - sequence.kv.computedTokens();
        int tokens = Math.min(uncomputed, budget);
        if (tokens > 0) {
            chunks.add(new ScheduledChunk(sequence, tokens, !sequence.inDecode()));
        }
        return tokens;
    }

    /**
     * Appends a sampled token to a running sequence, preempting newer sequences while no block is free. Returns false
     * when the sequence had to preempt itself (it then waits, its token kept for recomputation).
     */
    public boolean append(SequenceState sequence, int token) {
        sequence.tokens.add(token);
        while (!kv.append(sequence.kv, token)) {
            SequenceState victim = running.getLast();
            preempt(victim);
            if (victim == sequence) {
                return false;
            }
        }
        return true;
    }

    /** Removes a finished or cancelled sequence and frees its blocks. */
    public void finish(SequenceState sequence) {
        if (running.remove(sequence)) {
            kv.release(sequence.kv);
            sequence.kv = null;
        } else if (!preempted.remove(sequence) && !resumed.remove(sequence) && !heldForPrefix.remove(sequence)) {
            waiting.removeIf(queued -> queued == sequence);
        }
    }

    /** Sequences (running or waiting) that were cancelled, removed and returned. */
    public List<SequenceState> removeCancelled() {
        List<SequenceState> cancelled = new ArrayList<>();
        for (SequenceState sequence : List.copyOf(running)) {
            if (sequence.cancelled) {
                finish(sequence);
                cancelled.add(sequence);
            }
        }
        preempted.removeIf(sequence -> sequence.cancelled && cancelled.add(sequence));
        resumed.removeIf(sequence -> sequence.cancelled && cancelled.add(sequence));
        heldForPrefix.removeIf(sequence -> sequence.cancelled && cancelled.add(sequence));
        waiting.removeIf(sequence -> sequence.cancelled && cancelled.add(sequence));
        return cancelled;
    }

    private void preempt(SequenceState victim) {
        // The estimate of running growth was too low: be as careful as at the start again.
        newTokenRatio = Math.max(newTokenRatio, INIT_NEW_TOKEN_RATIO);
        running.remove(victim);
        kv.release(victim.kv);
        victim.kv = null;
        preempted.addFirst(victim);
        preemptions++;
    }
}
