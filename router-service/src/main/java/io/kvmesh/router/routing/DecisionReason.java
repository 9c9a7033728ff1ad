package io.kvmesh.router.routing;

/**
 * Why the first pod of a ranking is first, so decisions can be counted and explained: the cache won ({@link #PREFIX}),
 * the hot-spot guard let load win ({@link #LOAD_IMBALANCE}, {@link #SHORT_MATCH}, {@link #NO_MATCH}), or the policy
 * looks at no cache at all ({@link #LOAD}, {@link #ROTATION}, {@link #RANDOM}).
 */
public enum DecisionReason {
    /** The prefix score ranked the pods: the best match covers enough of the prompt and load is balanced. */
    PREFIX("prefix"),
    /** The most and least loaded candidates differ by more than both balance thresholds: least load first. */
    LOAD_IMBALANCE("load-imbalance"),
    /** The best match covers less of the prompt than the cache threshold: least load first. */
    SHORT_MATCH("short-match"),
    /** No candidate holds the prompt's first block (or the prompt has no full block): least load first. */
    NO_MATCH("no-match"),
    /** The least-load policy. */
    LOAD("load"),
    /** The round-robin policy. */
    ROTATION("rotation"),
    /** The random policy. */
    RANDOM("random");

    private final String label;

    DecisionReason(String label) {
        this.label = label;
    }

    /** The form used in metrics labels and {@code /router/explain}. */
    public String label() {
        return label;
    }
}
