package io.kvmesh.runtime.lamps;

/**
 * The pod's LAMPS brain, plain Java: at each pause, the {@link PausePolicy}'s choice — fixed, or the least of
 * InferCept's three wastes ({@link WasteModel}) evaluated with the predicted call duration of the tool
 * ({@link CallDurationPredictor}) and this engine's measured costs ({@link CostProfile}); and for the LAMPS waiting
 * queue, each request's predicted memory × time ({@link #area}). Learns call durations from resumed sessions.
 * Used by the engine thread.
 */
public final class PauseDecisions {

    /** A floor on the fitted one-token iteration time when converting waste to iterations (1 µs). */
    private static final double MIN_SECONDS_PER_ITERATION = 1e-6;

    private final PausePolicy policy;
    private final double kvBytesPerToken;
    private final CostProfile costs;
    private final CallDurationPredictor calls;
    private final SessionLengthPredictor sessions;

    public PauseDecisions(PausePolicy policy, double kvBytesPerToken, CostProfile costs, CallDurationPredictor calls) {
        this(policy, kvBytesPerToken, costs, calls, new SessionLengthPredictor(32));
    }

    public PauseDecisions(PausePolicy policy, double kvBytesPerToken, CostProfile costs, CallDurationPredictor calls,
                          SessionLengthPredictor sessions) {
        if (!(kvBytesPerToken > 0)) {
            throw new IllegalArgumentException("kvBytesPerToken must be > 0");
        }
        this.policy = policy;
        this.kvBytesPerToken = kvBytesPerToken;
        this.costs = costs;
        this.calls = calls;
        this.sessions = sessions;
    }

    public SessionLengthPredictor sessions() {
        return sessions;
    }

    public PausePolicy policy() {
        return policy;
    }

    public CostProfile costs() {
        return costs;
    }

    public CallDurationPredictor calls() {
        return calls;
    }

    public double kvBytesPerToken() {
        return kvBytesPerToken;
    }

    /**
     * The choice for a request of {@code contextTokens} pausing on {@code tool} while {@code otherTokens} tokens of
     * other requests run. A swap without room in the host tier becomes a discard ({@link Decision#hostFull}).
     */
    public Decision decide(long contextTokens, long otherTokens, String tool, boolean hostHasRoom) {
        double predicted = calls.predictSeconds(tool);
        WasteModel.Decision wastes = wasteModel().decide(contextTokens, otherTokens, predicted, hostHasRoom);
        PauseChoice fixed = policy.fixedChoice();
        PauseChoice choice = fixed == null ? wastes.choice() : fixed;
        boolean hostFull = choice == PauseChoice.SWAP && !hostHasRoom;
        if (hostFull) {
            choice = PauseChoice.DISCARD;
        }
        return new Decision(new WasteModel.Decision(choice, wastes.keep(), wastes.discard(), wastes.swap()), predicted, hostFull);
    }

    /** A pause decision with the call duration it assumed. */
    public record Decision(WasteModel.Decision wastes, double predictedSeconds, boolean hostFull) {
        public PauseChoice choice() {
            return wastes.choice();
        }
    }

    /**
     * Predicted KV memory × time a waiting request's session will still hold, in byte × one-token iterations (byte·s
     * divided by this engine's current one-token iteration time, which the online fit moves during a run: requests
     * ranked minutes apart must compare on one scale): this turn's decode
     * ({@link MemoryTimeQueue#area}, one iteration per token); if the turn ends in a call of
     * {@code tool}, the least waste that pause is predicted to cost (a request about to hold its blocks through a long
     * call ranks behind short ones) and the turns predicted to follow ({@link SessionLengthPredictor}: as many as
     * sessions calling that tool at this turn ({@code turn}, 0 for a session's first) had, each generating the mean
     * tokens of a turn after that tool over a context grown by that tool's mean resume, priced at the middle turn's
     * context).
     */
    public double area(long contextTokens, long remainingOutputTokens, String tool, int turn) {
        double area = MemoryTimeQueue.area(contextTokens, remainingOutputTokens, 1, kvBytesPerToken);
        if (tool == null) {
            return area;
        }
        // The pause's waste is in byte·s: in iterations of the current fit (floored so a free backend cannot divide by 0).
        double secondsPerIteration = Math.max(costs.forward().seconds(1), MIN_SECONDS_PER_ITERATION);
        WasteModel.Decision pause = wasteModel().decide(contextTokens + remainingOutputTokens, 0, calls.predictSeconds(tool), true);
        area += Math.min(pause.keep(), Math.min(pause.discard(), pause.swap())) / secondsPerIteration;
        double turns = sessions.followingTurns(tool, turn);
        if (turns > 0) {
            double generated = sessions.meanGeneratedTokens(tool);
            double added = sessions.meanAddedTokens(tool);
            double middleContext = contextTokens + remainingOutputTokens + added + (turns - 1) / 2 * (generated + added);
            area += turns * MemoryTimeQueue.area(Math.round(middleContext), Math.round(generated), 1, kvBytesPerToken);
        }
        return area;
    }

    /** A session paused on {@code tool} came back after {@code seconds}: history for the next prediction. */
    public void resumed(String tool, double seconds) {
        calls.observe(tool, seconds);
    }

    private WasteModel wasteModel() {
        return new WasteModel(kvBytesPerToken, costs.forward(), costs.swapSecondsPerToken());
    }
}
