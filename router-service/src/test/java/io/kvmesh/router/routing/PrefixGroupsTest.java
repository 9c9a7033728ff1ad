package io.kvmesh.router.routing;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PrefixGroupsTest {

    private static final long MS = 1_000_000;

    private static long[] blocks(long... hashes) {
        return hashes;
    }

    @Test
    void requestsSharingTheLeadingBlocksWithinTheWindowFollowTheLeader() {
        PrefixGroups groups = new PrefixGroups(5 * MS, 2);
        PrefixGroups.Membership leader = groups.join(blocks(1, 2, 3), "pod-a", 0).orElseThrow();
        assertThat(leader.leader()).isTrue();
        assertThat(leader.group().podId()).isEqualTo("pod-a");
        // Same first two blocks, different tail, policy would pick another pod: it follows to pod-a.
        PrefixGroups.Membership follower = groups.join(blocks(1, 2, 9, 9), "pod-b", 3 * MS).orElseThrow();
        assertThat(follower.leader()).isFalse();
        assertThat(follower.group()).isSameAs(leader.group());
        // A different second block: another group, led by this request.
        assertThat(groups.join(blocks(1, 7, 3), "pod-b", 4 * MS).orElseThrow().leader()).isTrue();
        assertThat(groups.leaders()).isEqualTo(2);
        assertThat(groups.followers()).isEqualTo(1);
    }

    @Test
    void theWindowClosesShortRequestsNeverGroupAndZeroTurnsItOff() {
        PrefixGroups groups = new PrefixGroups(5 * MS, 2);
        groups.join(blocks(1, 2), "pod-a", 0);
        // After the window the next request leads a new group; the old one is gone (no leak).
        assertThat(groups.join(blocks(1, 2), "pod-b", 6 * MS).orElseThrow().leader()).isTrue();
        assertThat(groups.openGroups()).isEqualTo(1);
        assertThat(groups.join(blocks(1), "pod-a", 7 * MS)).isEmpty();
        assertThat(new PrefixGroups(0, 2).join(blocks(1, 2), "pod-a", 0)).isEmpty();
    }
}
