package io.kvmesh.router.app;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready once the index replica has caught up with the topics. */
@Readiness
@ApplicationScoped
public class RouterReadiness implements HealthCheck {

    private final RouterState state;

    RouterReadiness(RouterState state) {
        this.state = state;
    }

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("index-replica-caught-up")
                .status(state.follower() != null && state.follower().isCaughtUp()).build();
    }
}
