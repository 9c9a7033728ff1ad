package io.kvmesh.router.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import io.kvmesh.prefix.events.BlockUsage;
import io.kvmesh.prefix.events.PodStatus;
import io.kvmesh.prefix.index.PodMatch;

class PodArrivalsTest {

    private final AtomicLong now = new AtomicLong(10_000);
    private final PodArrivals arrivals = new PodArrivals(now::get);

    /** A heartbeat at {@code ts} (pod clock) with {@code running + waiting} requests, finishing {@code perSecond}. */
    private static PodStatus status(String podId, int running, int waiting, double perSecond, long ts) {
        return new PodStatus(podId, 1, "127.0.0.1:1", "m", 16, true, running, waiting, 0, new BlockUsage(0, 100),
                new BlockUsage(0, 0), 0, 0, perSecond, ts);
    }

    @Test
    void aPodWithoutAnnouncementsHasItsHeartbeatsQueue() {
        assertThat(arrivals.queue(status("a", 3, 4, 0, 9_900))).isEqualTo(7);
    }

    @Test
    void requestsAnnouncedAfterTheHeartbeatAddToItsQueueAndTheOnesItCountedDoNot() {
        arrivals.announced("a", 9_800);
        arrivals.announced("a", 9_950);
        arrivals.announced("a", 9_950);
        arrivals.announced("b", 9_950);
        // Heartbeat at 9,900: the 9,800 request is in its counts, the two at 9,950 are not; b's are b's.
        assertThat(arrivals.queue(status("a", 2, 1, 0, 9_900))).isEqualTo(5);
        // The next heartbeat counts them; nothing is added twice.
        assertThat(arrivals.queue(status("a", 2, 3, 0, 9_990))).isEqualTo(5);
    }

    @Test
    void requestsLikelyFinishedSinceTheHeartbeatComeOffAtItsRateForAtMostASecond() {
        for (int i = 0; i < 10; i++) {
            arrivals.announced("a", 9_700);
        }
        // 20 finished per second, heartbeat 500 ms old: 10 + 10 arrived - 10 finished.
        assertThat(arrivals.queue(status("a", 10, 0, 20, 9_500))).isEqualTo(10);
        // A heartbeat 3 s old counts a second of finishing at most (all ten arrivals are after it), never below 0.
        assertThat(arrivals.queue(status("a", 5, 0, 20, 7_000))).isZero();
        assertThat(arrivals.queue(status("a", 30, 0, 20, 7_000))).isEqualTo(20);
        // A pod clock ahead of the router's finishes nothing yet.
        assertThat(arrivals.queue(status("a", 4, 0, 20, 10_500))).isEqualTo(4);
        // A pod that never announced (announcements off) keeps its heartbeat's queue.
        assertThat(arrivals.queue(status("quiet", 4, 0, 20, 9_000))).isEqualTo(4);
    }

    @Test
    void oldAnnouncementsAndPodsNoLongerLiveAreForgotten() {
        arrivals.announced("a", 1_000);
        arrivals.announced("a", 20_000);
        // The 1,000 one is more than 10 s older than the newest: dropped even for an old heartbeat.
        assertThat(arrivals.queue(status("a", 0, 0, 0, 500))).isEqualTo(1);
        arrivals.announced("b", 20_000);
        arrivals.retainPods(Set.of("a"));
        assertThat(arrivals.queue(status("b", 0, 0, 0, 500))).isZero();
    }

    @Test
    void theCandidatesQueueIsTheEstimateOrThisRoutersOpenRequestsIfMore() {
        PodStatus status = status("a", 2, 0, 0, 9_900);
        arrivals.announced("a", 9_950);
        Candidate estimated = new Candidate(status, new PodMatch("a", 0, 0, 0), 1, arrivals.queue(status));
        assertThat(estimated.queue()).isEqualTo(3);
        Candidate busierHere = new Candidate(status, new PodMatch("a", 0, 0, 0), 5, arrivals.queue(status));
        assertThat(busierHere.queue()).isEqualTo(5);
    }
}
