package io.kvmesh.streams;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.kvmesh.kafka.broker.KafkaBroker;
import io.kvmesh.kafka.broker.junit.KafkaBrokerExtension;
import io.kvmesh.prefix.blocks.BlockHasher;
import io.kvmesh.prefix.events.BlockStored;
import io.kvmesh.prefix.events.BlocksQueued;
import io.kvmesh.prefix.events.BlockUsage;
import io.kvmesh.prefix.events.KvEventBatch;
import io.kvmesh.prefix.events.Medium;
import io.kvmesh.prefix.events.PodStatus;
import io.kvmesh.prefix.events.PoolTopics;
import io.kvmesh.prefix.index.LivePods;
import io.kvmesh.prefix.index.PodMatch;
import io.kvmesh.prefix.index.PrefixIndex;

/** Publisher → cache-index follower with snapshot writer → a router follower bootstrapping from kv-index, on a real broker. */
@ExtendWith(KafkaBrokerExtension.class)
class IndexFollowerTest {

    private final BlockHasher hasher = new BlockHasher("m", "", 4);

    private static PodStatus status(String pod) {
        return new PodStatus(pod, 1, "127.0.0.1:1", "m", 4, true, 0, 0, 0, new BlockUsage(0, 8), new BlockUsage(0, 0),
                0, 0, System.currentTimeMillis());
    }

    private long[] store(PodEventPublisher publisher, String pod, long seq, int seed, int blocks) {
        int[] tokens = new int[blocks * 4];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = seed + i;
        }
        long[] hashes = hasher.hashFullBlocks(tokens);
        publisher.publish(new KvEventBatch(pod, 1, seq, 0, List.of(new BlockStored(hashes, null, tokens, 4, Medium.DEVICE))));
        return hashes;
    }

    @Test
    void aReplicaBootstrappedFromSnapshotsAgreesWithTheIndexService(KafkaBroker broker) throws Exception {
        StreamSettings settings = new StreamSettings(broker.bootstrapServers(), PoolTopics.forPool("test", "follower"), 3,
                Duration.ofHours(1), true);
        PoolTopicsAdmin.ensureTopics(settings);
        PoolTopicsAdmin.ensureTopics(settings);

        PrefixIndex serviceIndex = new PrefixIndex();
        LivePods servicePods = new LivePods(serviceIndex, 60_000);
        long[] a;
        long[] b;
        try (PodEventPublisher publisher = new PodEventPublisher(settings);
             SnapshotWriter writer = new SnapshotWriter(settings, serviceIndex, Duration.ofMillis(100), Duration.ofMinutes(1));
             IndexFollower service = new IndexFollower(settings, serviceIndex, servicePods, true, writer)) {
            publisher.publish(status("a"));
            publisher.publish(status("b"));
            a = store(publisher, "a", 0, 100, 3);
            b = store(publisher, "b", 0, 100, 2);
            publishRaw(broker, settings.topics().kvEvents(), "b", "{not json".getBytes());
            service.start();
            assertThat(service.awaitCaughtUp(Duration.ofSeconds(30))).isTrue();
            await(() -> serviceIndex.match(a).size() == 2 && writer.snapshotsWritten() >= 2);
            assertThat(serviceIndex.match(a)).containsExactly(new PodMatch("a", 3, 3, 0), new PodMatch("b", 2, 2, 0));
            await(() -> service.malformedRecords() == 1);

            // Published after the snapshots were taken (or just as one is): the replica must get it either way.
            long[] late = store(publisher, "b", 1, 7_000, 1);
            await(() -> !serviceIndex.match(late).isEmpty());

            // A router replica started now: restores the snapshots, then tails from their offsets.
            PrefixIndex replicaIndex = new PrefixIndex();
            LivePods replicaPods = new LivePods(replicaIndex, 60_000);
            java.util.Map<String, long[]> announced = new java.util.concurrent.ConcurrentHashMap<>();
            FollowerListener listener = new FollowerListener() {
                @Override
                public void afterPoll(java.util.Map<Integer, Long> positions, java.util.Set<String> changed) {
                }

                @Override
                public void queued(String podId, long[] blockHashes, long batchMillis) {
                    announced.put(podId, blockHashes);
                }
            };
            try (IndexFollower replica = new IndexFollower(settings, replicaIndex, replicaPods, true, listener)) {
                replica.start();
                assertThat(replica.awaitCaughtUp(Duration.ofSeconds(30))).isTrue();
                assertThat(replicaIndex.match(a)).isEqualTo(serviceIndex.match(a));
                // Nothing missed, nothing applied twice: the tail began exactly after what the snapshots hold.
                assertThat(replicaIndex.match(late)).containsExactly(new PodMatch("b", 1, 1, 0));
                assertThat(replica.outcomes(io.kvmesh.prefix.index.ApplyOutcome.DUPLICATE)).isZero();
                assertThat(replica.outcomes(io.kvmesh.prefix.index.ApplyOutcome.SEQ_GAP)).isZero();
                assertThat(replicaPods.live()).extracting(PodStatus::podId).containsExactlyInAnyOrder("a", "b");

                long[] more = store(publisher, "a", 1, 5_000, 2);
                await(() -> !replicaIndex.match(more).isEmpty() && !serviceIndex.match(more).isEmpty());

                // A queued request's blocks reach the listener, and the index does not hold them.
                long[] queued = hasher.hashFullBlocks(new int[] {9, 8, 7, 6, 5, 4, 3, 2});
                publisher.publish(new KvEventBatch("b", 1, 2, 1234, List.of(new BlocksQueued(queued))));
                await(() -> announced.containsKey("b"));
                assertThat(announced.get("b")).containsExactly(queued);
                assertThat(replicaIndex.match(queued)).isEmpty();
                assertThat(replica.outcomes(io.kvmesh.prefix.index.ApplyOutcome.SEQ_GAP)).isZero();

                publisher.tombstone("a");
                await(() -> replicaIndex.match(a).size() == 1 && serviceIndex.match(a).size() == 1);
                assertThat(replicaIndex.match(b)).containsExactly(new PodMatch("b", 2, 2, 0));
                assertThat(replicaPods.live()).extracting(PodStatus::podId).containsExactly("b");
            }
        }
    }

    /**
     * The broker is killed for several heartbeat timeouts while one pod keeps beating (its producer buffers) and another
     * dies. Once the broker is back, the live pod must keep its blocks without a gap: its silence was the broker's.
     * Before the fix, the follower's first poll after the outage retired every pod, and the live pod's later events
     * rebuilt it from an empty slate, so the blocks it held before the outage were never indexed again.
     */
    @Test
    void aBrokerOutageRetiresOnlyThePodThatDiedAndKeepsTheBlocksOfTheLiveOne() throws Exception {
        try (KafkaBroker broker = KafkaBroker.start()) {
            StreamSettings settings = new StreamSettings(broker.bootstrapServers(), PoolTopics.forPool("test", "outage"), 2,
                    Duration.ofHours(1), true);
            PoolTopicsAdmin.ensureTopics(settings);
            PrefixIndex index = new PrefixIndex();
            LivePods pods = new LivePods(index, 2_000);
            AtomicBoolean doomedBeats = new AtomicBoolean(true);
            ScheduledExecutorService beats = Executors.newSingleThreadScheduledExecutor();
            try (PodEventPublisher alive = new PodEventPublisher(settings);
                 PodEventPublisher doomed = new PodEventPublisher(settings);
                 IndexFollower follower = new IndexFollower(settings, index, pods, false, FollowerListener.NONE)) {
                beats.scheduleAtFixedRate(() -> {
                    alive.publish(status("alive"));
                    if (doomedBeats.get()) {
                        doomed.publish(status("doomed"));
                    }
                }, 0, 200, TimeUnit.MILLISECONDS);
                long[] a = store(alive, "alive", 0, 100, 3);
                long[] d = store(doomed, "doomed", 0, 500, 2);
                follower.start();
                assertThat(follower.awaitCaughtUp(Duration.ofSeconds(30))).isTrue();
                await(() -> index.match(a).size() == 1 && index.match(d).size() == 1 && pods.live().size() == 2);

                broker.kill();
                doomedBeats.set(false);
                Thread.sleep(5_000); // the outage itself: 2.5 heartbeat timeouts without a broker (its restart adds ~10 s)
                broker.restart();

                long deadline = System.nanoTime() + Duration.ofSeconds(4).toNanos();
                while (System.nanoTime() < deadline) {
                    assertThat(index.match(a)).as("the live pod's blocks after the outage").containsExactly(new PodMatch("alive", 3, 3, 0));
                    Thread.sleep(20);
                }
                await(() -> index.match(d).isEmpty() && pods.live().stream().map(PodStatus::podId).toList().equals(List.of("alive")));
                long[] after = store(alive, "alive", 1, 9_000, 1);
                await(() -> !index.match(after).isEmpty());
                assertThat(index.match(a)).containsExactly(new PodMatch("alive", 3, 3, 0));
                assertThat(follower.outcomes(io.kvmesh.prefix.index.ApplyOutcome.SEQ_GAP)).isZero();
            } finally {
                beats.shutdownNow();
            }
        }
    }

    private static void publishRaw(KafkaBroker broker, String topic, String key, byte[] value) {
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(
                Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()), new StringSerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(topic, key, value));
        }
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition not reached in 20 s").isLessThan(deadline);
            Thread.sleep(50);
        }
    }
}
