package io.kvmesh.kube.apiserver;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Where the server's executables are: kube-apiserver and kube-controller-manager built by {@code build-kube.sh} into
 * {@code ${KVMESH_CACHE:-~/.cache/kvmesh}/k8s-1.20.2/}, etcd and kubectl from the Debian packages on {@code PATH}.
 *
 * <p>The binary directory can be named with {@code -Dio.kvmesh.kube.bin} or {@code KVMESH_KUBE_BIN}; an
 * {@code etcd} or {@code kubectl} placed in it wins over the one on {@code PATH}.
 */
public record KubeBinaries(Path apiServer, Path controllerManager, Path etcd, Path kubectl) {

    /** The Kubernetes version that {@code build-kube.sh} builds. */
    public static final String VERSION = "1.20.2";

    private static final String BUILD_HINT = "run kube-apiserver/build-kube.sh (10-15 minutes once on 2 cores; ./kvmesh test runs it)";

    /** Finds every executable or fails with one message that names what is missing and how to get it. */
    public static KubeBinaries locate() {
        Path directory = directory();
        List<String> missing = new ArrayList<>();
        Path apiServer = directory.resolve("kube-apiserver");
        Path controllerManager = directory.resolve("kube-controller-manager");
        if (!Files.isRegularFile(directory.resolve(".built")) || !Files.isExecutable(apiServer)) {
            missing.add("kube-apiserver " + VERSION + " in " + directory);
        }
        if (!Files.isExecutable(controllerManager)) {
            missing.add("kube-controller-manager " + VERSION + " in " + directory);
        }
        Optional<Path> etcd = find(directory, "etcd");
        Optional<Path> kubectl = find(directory, "kubectl");
        if (etcd.isEmpty()) {
            missing.add("etcd (Debian package etcd-server)");
        }
        if (kubectl.isEmpty()) {
            missing.add("kubectl (Debian package kubernetes-client)");
        }
        if (!missing.isEmpty()) {
            throw new IllegalStateException("cannot start a Kubernetes API server, missing: " + String.join(", ", missing)
                    + ". To fix: " + BUILD_HINT);
        }
        return new KubeBinaries(apiServer, controllerManager, etcd.get(), kubectl.get());
    }

    /** The directory that holds (or will hold) the built binaries. */
    public static Path directory() {
        String named = System.getProperty("io.kvmesh.kube.bin", System.getenv("KVMESH_KUBE_BIN"));
        if (named != null && !named.isBlank()) {
            return Path.of(named);
        }
        String cache = System.getenv("KVMESH_CACHE");
        Path root = cache != null && !cache.isBlank() ? Path.of(cache)
                : Path.of(System.getProperty("user.home"), ".cache", "kvmesh");
        return root.resolve("k8s-" + VERSION);
    }

    private static Optional<Path> find(Path directory, String name) {
        if (Files.isExecutable(directory.resolve(name))) {
            return Optional.of(directory.resolve(name));
        }
        String path = System.getenv("PATH");
        for (String entry : (path == null ? "/usr/local/bin:/usr/bin:/bin" : path).split(":")) {
            if (!entry.isEmpty() && Files.isExecutable(Path.of(entry, name))) {
                return Optional.of(Path.of(entry, name));
            }
        }
        return Optional.empty();
    }
}
