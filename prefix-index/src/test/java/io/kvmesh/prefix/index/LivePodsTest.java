package io.kvmesh.prefix.index;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.kvmesh.prefix.events.BlockStored;
import io.kvmesh.prefix.events.BlockUsage;
import io.kvmesh.prefix.events.KvEventBatch;
import io.kvmesh.prefix.events.Medium;
import io.kvmesh.prefix.events.PodStatus;

class LivePodsTest {

    private final PrefixIndex index = new PrefixIndex();
    private final LivePods pods = new LivePods(index, 3_000);

    private static PodStatus status(String pod, long epoch) {
        return new PodStatus(pod, epoch, "127.0.0.1:1", "m", 16, true, 0, 0, 0,
                new BlockUsage(0, 10), new BlockUsage(0, 0), 0, 0, 0);
    }

    private void store(String pod, long epoch, long hash) {
        index.apply(new KvEventBatch(pod, epoch, 0, 0,
                List.of(new BlockStored(new long[] {hash}, null, new int[16], 16, Medium.DEVICE))));
    }

    @Test
    void aPodWithoutHeartbeatsForTheTimeoutIsRetiredWithItsBlocks() {
        pods.heartbeat(status("a", 1), 0);
        pods.heartbeat(status("b", 1), 0);
        store("a", 1, 11);
        store("b", 1, 11);
        pods.heartbeat(status("b", 1), 2_500);
        assertThat(pods.expire(3_000)).isEmpty();
        assertThat(pods.expire(3_001)).containsExactly("a");
        assertThat(pods.live()).extracting(PodStatus::podId).containsExactly("b");
        assertThat(index.match(new long[] {11})).containsExactly(new PodMatch("b", 1, 1, 0));
    }

    @Test
    void heartbeatsDeliveredLateNeverMakeAPodLookLongerSilent() {
        pods.heartbeat(status("a", 1), 2_000);
        // A backlog from an outage: older heartbeats of the same epoch, read after a newer one.
        pods.heartbeat(status("a", 1), 500);
        assertThat(pods.expire(4_000)).isEmpty();
        assertThat(pods.expire(5_001)).containsExactly("a");
    }

    @Test
    void silenceTheCallerCouldNotObserveRetiresNobodyUntilAWholeTimeoutLater() {
        pods.heartbeat(status("a", 1), 0);
        pods.heartbeat(status("b", 1), 0);
        store("a", 1, 11);
        // The caller was cut off from the stream until 10 s: nobody could have been heard from meanwhile.
        pods.excuseSilenceUntil(10_000);
        assertThat(pods.expire(10_000)).isEmpty();
        pods.heartbeat(status("a", 1), 9_000); // a late heartbeat from before: changes nothing
        pods.heartbeat(status("a", 1), 12_000);
        assertThat(pods.expire(13_000)).isEmpty();
        assertThat(pods.expire(13_001)).containsExactly("b");
        assertThat(index.match(new long[] {11})).containsExactly(new PodMatch("a", 1, 1, 0));
        assertThat(pods.live()).extracting(PodStatus::podId).containsExactly("a");
    }

    @Test
    void aTombstoneRetiresAtOnce() {
        pods.heartbeat(status("a", 1), 0);
        store("a", 1, 11);
        assertThat(pods.tombstone("a")).isTrue();
        assertThat(index.match(new long[] {11})).isEmpty();
        assertThat(pods.live()).isEmpty();
    }

    @Test
    void aNewEpochDropsTheOldBlocksAndAnOlderOneIsIgnored() {
        pods.heartbeat(status("a", 1), 0);
        store("a", 1, 11);
        pods.heartbeat(status("a", 2), 10);
        assertThat(index.match(new long[] {11})).isEmpty();
        pods.heartbeat(status("a", 1), 20);
        assertThat(pods.status("a").orElseThrow().epoch()).isEqualTo(2);
    }

    @Test
    void lateEventsOfARetiredPodDoNotLinger() {
        pods.heartbeat(status("a", 1), 0);
        pods.tombstone("a");
        store("a", 1, 11);
        assertThat(pods.expire(1)).containsExactly("a");
        assertThat(index.stats().pods()).isZero();
    }
}
