package io.kvmesh.operator.reconcile;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.kvmesh.operator.plan.OperatorDefaults;
import io.kvmesh.operator.plan.PoolPlanner;

/** The operator's configuration turned into the plain objects the reconciler uses, and its leader election. */
@ApplicationScoped
public class OperatorBeans {

    @Produces
    @Singleton
    PoolPlanner planner(@ConfigProperty(name = "kvmesh.operator.image-registry", defaultValue = "ghcr.io/kvmesh") String registry,
                        @ConfigProperty(name = "kvmesh.operator.image-tag", defaultValue = "0.1.0") String tag,
                        @ConfigProperty(name = "kvmesh.operator.image-pull-policy", defaultValue = "IfNotPresent") String pullPolicy,
                        @ConfigProperty(name = "kvmesh.operator.download-image", defaultValue = "curlimages/curl:8.11.0") String downloadImage) {
        return new PoolPlanner(new OperatorDefaults(registry, tag, pullPolicy, downloadImage));
    }

    /**
     * One active operator replica at a time: the others wait on the Lease (in the operator's namespace in a cluster;
     * {@code kvmesh.operator.lease-namespace} when it runs outside one). A replica that loses the Lease exits, so
     * Kubernetes restarts it as a follower ({@code kvmesh.operator.exit-on-lost-lease}; the tests, which stop the
     * apiserver under a running operator, turn it off).
     */
    @Produces
    @Singleton
    LeaderElectionConfiguration leaderElection(
            @ConfigProperty(name = "kvmesh.operator.lease-namespace") java.util.Optional<String> namespace,
            @ConfigProperty(name = "kvmesh.operator.exit-on-lost-lease", defaultValue = "true") boolean exitOnLostLease) {
        return new LeaderElectionConfiguration("kvmesh-operator", namespace.orElse(null),
                LeaderElectionConfiguration.LEASE_DURATION_DEFAULT_VALUE, LeaderElectionConfiguration.RENEW_DEADLINE_DEFAULT_VALUE,
                LeaderElectionConfiguration.RETRY_PERIOD_DEFAULT_VALUE, null, null, exitOnLostLease);
    }
}
