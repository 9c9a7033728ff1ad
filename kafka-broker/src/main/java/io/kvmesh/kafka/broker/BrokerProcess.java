package io.kvmesh.kafka.broker;

import java.io.IOException;
import java.io.InputStream;

/**
 * Main class of the broker's child JVM: runs {@code kafka.Kafka} and exits when the launching process goes away.
 *
 * <p>The launcher holds the write end of this process's standard input. When the launcher dies, even by
 * {@code kill -9}, the pipe closes and this process shuts Kafka down cleanly instead of lingering as an orphan
 * that holds ports and data. Kafka is called by reflection: its jars are only on this child's class path.
 */
public final class BrokerProcess {

    private BrokerProcess() {
    }

    public static void main(String[] args) throws Exception {
        Thread watchdog = new Thread(BrokerProcess::exitWhenParentGone, "kvmesh-parent-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
        Class.forName("kafka.Kafka").getMethod("main", String[].class).invoke(null, (Object) args);
    }

    private static void exitWhenParentGone() {
        try (InputStream parent = System.in) {
            while (parent.read() >= 0) {
                // The launcher never writes; anything read is ignored.
            }
        } catch (IOException e) {
            // A broken pipe means the same as end of input.
        }
        System.err.println("kvmesh: launching process is gone, stopping the broker");
        System.exit(0);
    }
}
