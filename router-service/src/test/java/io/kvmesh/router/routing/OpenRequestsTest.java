package io.kvmesh.router.routing;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class OpenRequestsTest {

    @Test
    void countsEachRequestUntilItEndsOnce() {
        OpenRequests open = new OpenRequests();
        Runnable first = open.opened("a");
        Runnable second = open.opened("a");
        open.opened("b");
        assertThat(open.count("a")).isEqualTo(2);
        assertThat(open.count("b")).isEqualTo(1);
        assertThat(open.count("c")).isZero();

        first.run();
        first.run();
        assertThat(open.count("a")).as("ending twice ends once").isEqualTo(1);
        second.run();
        assertThat(open.count("a")).isZero();
    }
}
