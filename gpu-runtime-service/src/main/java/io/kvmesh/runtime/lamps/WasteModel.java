package io.kvmesh.runtime.lamps;

/**
 * InferCept's memory-waste model (reference/serving-algorithms.md): the device memory × time each choice wastes while
 * a request of {@code C_i} context tokens waits {@code T_INT} seconds on a call, with {@code M} bytes of KV per token:
 * <ul>
 * <li>keep: {@code T_INT · C_i · M} (its blocks sit idle);</li>
 * <li>discard: {@code T_fwd(C_i) · C_i · M + T_fwd(C_i) · C_other · M} (recomputing its context on resume holds its
 * own blocks and stalls the other running requests' for that long);</li>
 * <li>swap: {@code 2 · T_swap(C_i) · C_batch · M} (out and back in, stalling the batch each time).</li>
 * </ul>
 * The least wins; swap only when the host tier has room for the blocks. Plain Java, no clock: callers pass predictions.
 */
public final class WasteModel {

    /** The three wastes in byte·seconds and the choice, for metrics and the debug log line. */
    public record Decision(PauseChoice choice, double keep, double discard, double swap) {

        public double waste() {
            return switch (choice) {
                case KEEP -> keep;
                case DISCARD -> discard;
                case SWAP -> swap;
            };
        }
    }

    private final double kvBytesPerToken;
    private final ForwardCostModel forward;
    private final double swapSecondsPerToken;

    public WasteModel(double kvBytesPerToken, ForwardCostModel forward, double swapSecondsPerToken) {
        if (!(kvBytesPerToken > 0) || !(swapSecondsPerToken >= 0)) {
            throw new IllegalArgumentException("kvBytesPerToken must be > 0 and swapSecondsPerToken >= 0");
        }
        this.kvBytesPerToken = kvBytesPerToken;
        this.forward = forward;
        this.swapSecondsPerToken = swapSecondsPerToken;
    }

    /**
     * @param contextTokens  the paused request's context ({@code C_i})
     * @param otherTokens    tokens of the other running requests ({@code C_other})
     * @param callSeconds    the predicted call duration ({@code T_INT})
     * @param hostHasRoom    whether the host tier can take the request's blocks now
     */
    public Decision decide(long contextTokens, long otherTokens, double callSeconds, boolean hostHasRoom) {
        double m = kvBytesPerToken;
        double keep = Math.max(0, callSeconds) * contextTokens * m;
        double recompute = forward.seconds(contextTokens);
        double discard = recompute * contextTokens * m + recompute * otherTokens * m;
        double swap = 2 * swapSecondsPerToken * contextTokens * (contextTokens + otherTokens) * m;
        PauseChoice choice = keep <= discard ? PauseChoice.KEEP : PauseChoice.DISCARD;
        double best = Math.min(keep, discard);
        if (hostHasRoom && swap < best) {
            choice = PauseChoice.SWAP;
        }
        return new Decision(choice, keep, discard, hostHasRoom ? swap : Double.POSITIVE_INFINITY);
    }
}
