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
 * {@code history} such turns) — a first turn has its whole session ahead of it, a later one less; over all session
 * turns, the mean
 * tokens generated per turn and the mean tokens a resumed turn adds to the context (the call's result and whatever
 * the client writes). A tool without history predicts no further turns: the ranking then falls back to the turn
 * itself. Not thread-safe: the engine thread's.
 */
public final class SessionLengthPredictor {

    /** Tools tracked at most: names come from requests, so the table is bounded. */
    private static final int MAX_TOOLS = 1024;
    /** Turn positions told apart; later ones share the last. */
    private static final int POSITIONS = 8;
    /** Weight of the newest observation in the token means (about the last hundred turns count). */
    private static final double ALPHA = 0.01;

    private final int history;
    private final Map<String, ArrayDeque<Integer>> followingTurns = new HashMap<>();
    private final Map<String, Double> meanFollowing = new HashMap<>();
    private double meanGenerated = Double.NaN;
    private double meanAdded = Double.NaN;

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
        return Double.isNaN(meanGenerated) ? 0 : meanGenerated;
    }

    /** Mean tokens a resumed turn's prompt adds to the paused context; 0 before any resume. */
    public double meanAddedTokens() {
        return Double.isNaN(meanAdded) ? 0 : meanAdded;
    }

    /** A session's turn finished, having generated {@code tokens}. */
    public void turnFinished(int tokens) {
        meanGenerated = Double.isNaN(meanGenerated) ? tokens : meanGenerated + ALPHA * (tokens - meanGenerated);
    }

    /** A session resumed with a prompt {@code tokens} longer than the context it paused with. */
    public void resumed(int tokens) {
        int added = Math.max(0, tokens);
        meanAdded = Double.isNaN(meanAdded) ? added : meanAdded + ALPHA * (added - meanAdded);
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
