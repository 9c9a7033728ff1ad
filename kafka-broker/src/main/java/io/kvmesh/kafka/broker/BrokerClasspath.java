package io.kvmesh.kafka.broker;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The class path of the broker's child JVM: the Kafka server jars that this module's build resolved (listed in the
 * resource {@code broker-classpath.txt} relative to the local Maven repository) plus this module's own classes.
 */
final class BrokerClasspath {

    private static final String PLACEHOLDER = "@M2_REPO@";

    private BrokerClasspath() {
    }

    static String resolve() {
        Path repository = localRepository();
        List<String> entries = new ArrayList<>();
        for (String entry : listed().split(":")) {
            String trimmed = entry.trim();
            if (trimmed.isEmpty()) {
                continue;
            }
            Path jar = Path.of(trimmed.replace(PLACEHOLDER, repository.toString()));
            if (!Files.isRegularFile(jar)) {
                throw new IllegalStateException("Kafka server jar " + jar + " is missing from the local Maven repository "
                        + repository + "; build once with ./mvnw -pl kafka-broker -am install -DskipTests"
                        + " or point -Dio.kvmesh.maven-repo at the repository the build used");
            }
            entries.add(jar.toString());
        }
        entries.add(ownClasses().toString());
        return String.join(java.io.File.pathSeparator, entries);
    }

    /** -Dio.kvmesh.maven-repo (set by the build for tests), then -Dmaven.repo.local, then ~/.m2/repository. */
    static Path localRepository() {
        String configured = System.getProperty("io.kvmesh.maven-repo", System.getProperty("maven.repo.local"));
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        return Path.of(System.getProperty("user.home"), ".m2", "repository");
    }

    private static String listed() {
        try (InputStream in = BrokerClasspath.class.getResourceAsStream("broker-classpath.txt")) {
            if (in == null) {
                throw new IllegalStateException("broker-classpath.txt is missing from the kafka-broker module;"
                        + " it is written by the module's Maven build (process-resources)");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path ownClasses() {
        try {
            return Path.of(BrokerProcess.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot locate the kafka-broker classes", e);
        }
    }
}
