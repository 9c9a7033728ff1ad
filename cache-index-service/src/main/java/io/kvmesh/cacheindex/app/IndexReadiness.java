package io.kvmesh.cacheindex.app;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready once the snapshots are restored and the event tails have caught up. */
@Readiness
@ApplicationScoped
public class IndexReadiness implements HealthCheck {

    private final CacheIndex cacheIndex;

    IndexReadiness(CacheIndex cacheIndex) {
        this.cacheIndex = cacheIndex;
    }

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("index-caught-up")
                .status(cacheIndex.follower() != null && cacheIndex.follower().isCaughtUp()).build();
    }
}
