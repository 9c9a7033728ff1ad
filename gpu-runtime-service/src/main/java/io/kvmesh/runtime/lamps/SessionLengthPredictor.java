package io.kvmesh.runtime.lamps;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * How a session goes on after a turn that ends in a tool call: LAMPS ranks a request by the memory it holds over its
 * whole life — its API calls and the turns after them included — not by its current turn alone, so a session's first
 * turn must carry a prediction of the rest. Learned from the sessions this pod saw end: per tool and turn position
 * (first, second, …, capped), else per tool, the mean number of turns that followed a turn calling it (over the last
 * {@code history} such turns) — a first turn has its whole session ahead of it, a later one less; per tool, the mean
 * tokens a turn resumed after a call of it generates and adds to the context (the call's result and whatever the
 * client writes): an agent's step after an environment call is short, a chat reply after a human's message long,
 * and a calculator returns a few tokens where a search returns a passage. Tools without token history use the means
 * over all session turns. A tool without turn history predicts no further turns: the ranking then falls back to the
 * turn itself. Not thread-safe: the engine thread's.
 */
public final class SessionLengthPredictor {

    /** Tools tracked at most: names come from requests, so the table is bounded. */
    private static final int MAX_TOOLS = 1024;
    /** Turn positions told apart; later ones share the last. */
    private static final int POSITIONS = 8;
    /** Weight of the newest observation in the token means (about the last hundred turns count). */
    private static final double ALPHA = 0.01;
    /** Indices into the token means: tokens a turn generates, tokens a resume adds. */
    private static final int GENERATED = 0;
    private static final int ADDED = 1;

    private final int history;
    private final Map<String, ArrayDeque<Integer>> followingTurns = new HashMap<>();
    private final Map<String, Double> meanFollowing = new HashMap<>();
    private final Map<String, double[]> tokensAfter = new HashMap<>();
    /** Over all tools: {generated per turn, added per resume}, NaN before the first. */
    private final double[] overall = {Double.NaN, Double.NaN};

    public SessionLengthPredictor(int history) {
        if (history < 1) {
            throw new IllegalArgumentException("history must be at least 1");
        }
        this.history = history;
    }

    /**
     * Predicted turns still to come after the session's turn number {@code turn} (0 for its first) that ends in a call
     * of {@code tool}; 0 without history.
     */
    public double followingTurns(String tool, int turn) {
        if (tool == null) {
            return 0;
        }
        Double atPosition = meanFollowing.get(key(tool, turn));
        return atPosition != null ? atPosition : meanFollowing.getOrDefault(tool, 0.0);
    }

    /** Mean tokens a session's turn generates; 0 before any turn finished. */
    public double meanGeneratedTokens() {
        return orZero(overall[GENERATED]);
    }

    /** Mean tokens a resumed turn's prompt adds to the paused context; 0 before any resume. */
    public double meanAddedTokens() {
        return orZero(overall[ADDED]);
    }

    /** Mean tokens a turn resumed after a call of {@code tool} generates; the overall mean without its history. */
    public double meanGeneratedTokens(String tool) {
        return meanAfter(tool, GENERATED);
    }

    /** Mean tokens resuming after a call of {@code tool} adds to the context; the overall mean without its history. */
    public double meanAddedTokens(String tool) {
        return meanAfter(tool, ADDED);
    }

    private double meanAfter(String tool, int which) {
        double[] means = tool == null ? null : tokensAfter.get(tool);
        return means == null || Double.isNaN(means[which]) ? orZero(overall[which]) : means[which];
    }

    /**
     * A session's turn finished, having generated {@code tokens}; {@code afterTool} is the tool whose call it resumed
     * from (null for a session's first turn).
     */
    public void turnFinished(String afterTool, int tokens) {
        learn(afterTool, GENERATED, tokens);
    }

    /** A session resumed after a call of {@code tool} with a prompt {@code tokens} longer than its paused context. */
    public void resumed(String tool, int tokens) {
        learn(tool, ADDED, Math.max(0, tokens));
    }

    private void learn(String tool, int which, int tokens) {
        ewma(overall, which, tokens);
        if (tool == null) {
            return;
        }
        double[] means = tokensAfter.get(tool);
        if (means == null) {
            if (tokensAfter.size() >= MAX_TOOLS) {
                return;
            }
            means = new double[] {Double.NaN, Double.NaN};
            tokensAfter.put(tool, means);
        }
        ewma(means, which, tokens);
    }

    private static void ewma(double[] means, int which, double value) {
        means[which] = Double.isNaN(means[which]) ? value : means[which] + ALPHA * (value - means[which]);
    }

    private static double orZero(double value) {
        return Double.isNaN(value) ? 0 : value;
    }

    /**
     * A session ended with a turn without a call; {@code tools} are the tools its earlier turns called, in order: the
     * turn that called {@code tools[i]} was followed by {@code size − i} turns.
     */
    public void sessionEnded(List<String> tools) {
        for (int i = 0; i < tools.size(); i++) {
            observe(tools.get(i), i, tools.size() - i);
        }
    }

    /** A paused session never came back: its last call was followed by nothing. */
    public void sessionAbandoned(List<String> tools) {
        for (int i = 0; i < tools.size(); i++) {
            observe(tools.get(i), i, tools.size() - 1 - i);
        }
    }

    private void observe(String tool, int turn, int following) {
        observe(tool, following);
        observe(key(tool, turn), following);
    }

    private static String key(String tool, int turn) {
        return tool + "\u0000" + Math.min(turn, POSITIONS - 1);
    }

    private void observe(String tool, int following) {
        ArrayDeque<Integer> window = followingTurns.get(tool);
        if (window == null) {
            if (followingTurns.size() >= MAX_TOOLS * (POSITIONS + 1)) {
                return;
            }
            window = new ArrayDeque<>();
            followingTurns.put(tool, window);
        }
        window.addLast(following);
        if (window.size() > history) {
            window.removeFirst();
        }
        meanFollowing.put(tool, window.stream().mapToInt(Integer::intValue).average().orElse(0));
    }
}
