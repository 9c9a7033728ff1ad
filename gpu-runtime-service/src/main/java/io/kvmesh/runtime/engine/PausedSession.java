package io.kvmesh.runtime.engine;

import java.util.List;

import io.kvmesh.runtime.lamps.PauseChoice;

/**
 * A session whose turn ended in a tool call, waiting for its next turn: what was decided for its KV and what that
 * holds — device blocks pinned (keep) or host-tier blocks pinned (swap); a discard holds nothing. {@code sessionTools}:
 * the tools the session's turns have called so far, this pause's last (what the session-length prediction learns from).
 */
record PausedSession(String session, String tool, PauseChoice choice, long pausedAtNanos, double predictedSeconds,
                     int contextTokens, int[] deviceBlocks, int[] hostBlocks, List<String> sessionTools) {
}
