package io.kvmesh.router.app;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import io.kvmesh.model.gguf.GgufFile;
import io.kvmesh.model.tokenizer.ByteTokenizer;
import io.kvmesh.openai.PromptFormat;
import io.kvmesh.prefix.blocks.BlockHasher;
import io.kvmesh.prefix.index.LivePods;
import io.kvmesh.prefix.index.PrefixIndex;
import io.kvmesh.router.routing.OpenRequests;
import io.kvmesh.router.routing.PodArrivals;
import io.kvmesh.router.routing.PodSelector;
import io.kvmesh.router.routing.PrefixAwarePolicy;
import io.kvmesh.router.routing.PrefixGroups;
import io.kvmesh.router.routing.RoutingPolicy;
import io.kvmesh.router.routing.DecisionCounts;
import io.kvmesh.router.routing.HotSpotGuard;
import io.kvmesh.router.routing.IndexedPrefixes;
import io.kvmesh.router.routing.LearnedPrefixes;
import io.kvmesh.router.routing.PrefixView;
import io.kvmesh.router.routing.RoutingDecision;
import io.kvmesh.router.routing.SpeculativeEntries;
import io.kvmesh.router.tenancy.TenantDirectory;
import io.kvmesh.streams.FollowerListener;
import io.kvmesh.streams.IndexFollower;
import io.kvmesh.streams.KafkaConfig;
import io.kvmesh.streams.PoolTopicsAdmin;
import io.kvmesh.streams.StreamSettings;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;

/**
 * The router replica's state: its own copy of the whole index (bootstrapped from {@code kv-index}, then tailing
 * {@code kv-events} and {@code pod-status}), the routing policy, and the pods currently suspected of failing.
 */
@ApplicationScoped
public class RouterState {

    private static final Logger LOG = Logger.getLogger(RouterState.class);

    private final RouterSettings settings;
    private final PrefixIndex index;
    private final LivePods pods;
    private final PodSelector selector;
    private final PromptFormat promptFormat;
    private final Map<String, BlockHasher> hashers = new ConcurrentHashMap<>();
    private final Map<String, Long> suspectUntil = new ConcurrentHashMap<>();
    private IndexFollower follower;
    private final SpeculativeEntries speculative;
    private final DecisionCounts decisions = new DecisionCounts();
    private final TenantDirectory tenants;

    RouterState(RouterSettings settings) {
        this.settings = settings;
        this.index = new PrefixIndex(settings.indexMaxEntries());
        this.groups = new PrefixGroups(settings.groups().window().toNanos(), settings.groups().minSharedBlocks());
        this.pods = new LivePods(index, settings.heartbeatTimeout().toMillis());
        this.promptFormat = settings.modelPath().map(RouterState::promptFormatOf).orElseGet(() ->
                PromptFormat.withFallbackChat(new ByteTokenizer(), "no kvmesh.model-path (the sim backend's byte tokenizer)"));
        LOG.infof("chat template: %s", promptFormat.chatTemplate().description());
        Map<String, TenantDirectory.Entry> entries = new java.util.TreeMap<>();
        settings.tenants().forEach((name, tenant) -> entries.put(name, new TenantDirectory.Entry(tenant.apiKeys(), tenant.cacheSalt())));
        this.tenants = entries.isEmpty() ? TenantDirectory.OPEN : new TenantDirectory(entries);
        LOG.infof("tenants: %s", tenants);
        RouterSettings.Weights w = settings.weights();
        RouterSettings.Guard g = settings.guard();
        this.speculative = new SpeculativeEntries(settings.speculative().ttl().toMillis(), () -> System.nanoTime() / 1_000_000);
        PrefixView prefixes = settings.policy().equals("approximate-prefix")
                ? new LearnedPrefixes(settings.approximate().blocksPerPod()) : new IndexedPrefixes(index, speculative);
        // Only the policy that reads KV events counts the pods' announced arrivals into their queues.
        PodArrivals arrivals = settings.policy().equals("prefix-aware") && settings.announcedArrivals()
                ? new PodArrivals(System::currentTimeMillis) : null;
        this.selector = new PodSelector(prefixes, pods, RoutingPolicy.named(settings.policy(),
                new PrefixAwarePolicy.Weights(w.prefix(), w.hostBlock(), w.queue(), w.kvUsage()),
                g.enabled() ? new HotSpotGuard.Thresholds(g.balanceAbsThreshold(), g.balanceRelThreshold(), g.cacheThreshold()) : null),
                new OpenRequests(), arrivals);
    }

    /**
     * The tokenizer and chat template of a GGUF model, read once at start (the router never loads weights): what the
     * pods serving that file use, so both tokenize every request alike.
     */
    static PromptFormat promptFormatOf(String path) {
        try (GgufFile gguf = GgufFile.open(Path.of(path))) {
            return PromptFormat.fromGguf(gguf);
        } catch (IOException e) {
            throw new IllegalArgumentException("kvmesh.model-path " + path + " cannot be read: " + e.getMessage(), e);
        }
    }

    void start(@Observes StartupEvent startup) {
        RouterSettings.Kafka kafka = settings.kafka();
        StreamSettings streams = KafkaConfig.streamSettings(kafka);
        if (streams.createTopics()) {
            PoolTopicsAdmin.ensureTopics(streams);
        }
        follower = new IndexFollower(streams, index, pods, true, new FollowerListener() {
            // Applied KV events confirm speculative entries (the follower's thread, after each poll).
            @Override
            public void afterPoll(Map<Integer, Long> positions, Set<String> changed) {
                selector.prefixes().indexChanged(changed);
            }

            // Requests the pods queued become speculative entries, unless older than an entry lives (a catching-up read).
            @Override
            public void queued(String podId, long[] blockHashes, long batchMillis) {
                if (selector.arrivals() != null) {
                    selector.arrivals().announced(podId, batchMillis);
                }
                if (System.currentTimeMillis() - batchMillis < speculative.ttlMillis()) {
                    selector.prefixes().queued(podId, blockHashes);
                }
            }
        });
        follower.start();
        LOG.infof("router (policy %s) following %s.* on %s", settings.policy(), kafka.topicPrefix(), kafka.bootstrapServers());
    }

    void stop(@Observes ShutdownEvent shutdown) {
        if (follower != null) {
            follower.close();
        }
    }

    public PodSelector selector() {
        return selector;
    }

    public PrefixIndex index() {
        return index;
    }

    public LivePods pods() {
        return pods;
    }

    public IndexFollower follower() {
        return follower;
    }

    /** How requests become token ids: the model's tokenizer and chat template (as the pods have them). */
    public PromptFormat promptFormat() {
        return promptFormat;
    }

    public String policy() {
        return settings.policy();
    }

    public long maxBodyBytes() {
        return settings.maxBodyBytes();
    }

    public RouterSettings settings() {
        return settings;
    }

    /**
     * The block hasher the pods serving {@code modelId} use for a request with {@code requestSalt} (its tenant's, or
     * its own {@code cache_salt}; empty for none), combined with the pool's salt exactly as the pods combine them.
     */
    public BlockHasher hasher(String modelId, String requestSalt) {
        String salt = BlockHasher.combinedSalt(settings.cacheSalt().orElse(""), requestSalt);
        if (hashers.size() > MAX_HASHERS) {
            hashers.clear();
        }
        return hashers.computeIfAbsent(modelId + '\0' + salt, key -> new BlockHasher(modelId, salt, settings.blockSize()));
    }

    /** Hashers kept per (model, salt): salts may come from requests, so the cache is bounded. */
    private static final int MAX_HASHERS = 4096;

    public TenantDirectory tenants() {
        return tenants;
    }

    /** A request is about to be sent according to {@code decision}: counted by reason. */
    /** Pods that failed a request: before answering (the request moved on) or mid-answer (the client saw an error). */
    public record UpstreamFailures(LongAdder beforeAnswer, LongAdder midAnswer) {
    }

    private final UpstreamFailures upstreamFailures = new UpstreamFailures(new LongAdder(),
            new LongAdder());

    private final PrefixGroups groups;

    public PrefixGroups groups() {
        return groups;
    }

    public UpstreamFailures upstreamFailures() {
        return upstreamFailures;
    }

    public void decided(RoutingDecision decision) {
        decisions.count(decision.reason());
    }

    /** The request of {@code decision} was sent to {@code podId}: speculative entries, or the approximate table learns. */
    public void dispatched(RoutingDecision decision, String podId) {
        selector.dispatched(decision, podId);
    }

    /** A request went to {@code podId}; run what this returns when it ends (counted in the pod's load until then). */
    public Runnable opened(String podId) {
        return selector.open().opened(podId);
    }

    public DecisionCounts decisions() {
        return decisions;
    }

    /** This replica's speculative entries (none are made under approximate-prefix). */
    public SpeculativeEntries speculative() {
        return speculative;
    }

    public void suspect(String podId) {
        suspectUntil.put(podId, System.nanoTime() + settings.suspectFor().toNanos());
    }

    public Set<String> suspects() {
        long now = System.nanoTime();
        suspectUntil.values().removeIf(until -> until < now);
        return Set.copyOf(suspectUntil.keySet());
    }
}
