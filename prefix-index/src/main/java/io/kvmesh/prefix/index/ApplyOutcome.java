package io.kvmesh.prefix.index;

/** What {@link PrefixIndex#apply} did with a batch. */
public enum ApplyOutcome {
    /** The next batch of a known epoch, or the first batch seen from a pod: applied. */
    APPLIED,
    /** A batch at or below the last applied {@code seq} of the same epoch (a redelivery): ignored. */
    DUPLICATE,
    /** A batch from an older epoch than the one held (a restarted pod's leftovers): ignored. */
    STALE_EPOCH,
    /** The pod restarted: its old blocks were dropped, then the batch applied. */
    NEW_EPOCH,
    /** Batches went missing: the pod's blocks were dropped as untrustworthy, then the batch applied. */
    SEQ_GAP,
    /**
     * The first batch of a pod when the index already follows {@link PrefixIndex#MAX_PODS} pods (a flood of made-up
     * pod ids, since a pool has far fewer): ignored, so the index cannot grow without bound.
     */
    TOO_MANY_PODS
}
