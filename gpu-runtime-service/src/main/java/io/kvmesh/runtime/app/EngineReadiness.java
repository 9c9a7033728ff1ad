package io.kvmesh.runtime.app;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready once the engine runs and the Kafka publisher is connected. */
@Readiness
@ApplicationScoped
public class EngineReadiness implements HealthCheck {

    private final RuntimePod pod;

    EngineReadiness(RuntimePod pod) {
        this.pod = pod;
    }

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("engine").status(pod.isReady()).build();
    }
}
