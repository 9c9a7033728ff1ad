package io.kvmesh.operator.plan;

import java.net.URI;
import java.util.List;
import java.util.Optional;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.kvmesh.operator.crd.v1alpha1.ComputeBackend;

/**
 * Where a pool's pods find the model file ({@code spec.model.source}): a path inside the image ({@code /models/x.gguf}),
 * a file on a PersistentVolumeClaim ({@code pvc://CLAIM/path/x.gguf}, mounted read-only), or an {@code http(s)} URL
 * that an init container downloads into an emptyDir before the service starts. The {@code sim} backend needs none.
 */
sealed interface ModelSource {

    ModelSource NONE = new None();

    /** {@code kvmesh.model-path} inside the container, when there is a file. */
    Optional<String> path();

    default Optional<Volume> volume() {
        return Optional.empty();
    }

    default Optional<VolumeMount> mount() {
        return Optional.empty();
    }

    default Optional<Container> download(String image) {
        return Optional.empty();
    }

    static ModelSource of(String source, ComputeBackend backend, List<String> problems) {
        if (source == null || source.isBlank()) {
            if (backend != ComputeBackend.SIM) {
                problems.add("spec.model.source is required for backend " + backend.value()
                        + " (a path in the image, pvc://CLAIM/PATH or an https URL); only sim needs no model file");
            }
            return NONE;
        }
        if (source.startsWith("/")) {
            return new InImage(source);
        }
        URI uri;
        try {
            uri = URI.create(source);
        } catch (IllegalArgumentException e) {
            problems.add("spec.model.source \"" + source + "\" is not a path or URL: " + e.getMessage());
            return NONE;
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme();
        return switch (scheme) {
            case "http", "https" -> new Download(source, fileName(uri.getPath()));
            case "pvc" -> {
                if (uri.getHost() == null || uri.getPath() == null || uri.getPath().length() < 2) {
                    problems.add("spec.model.source \"" + source + "\" must be pvc://CLAIM/PATH/TO/MODEL.gguf");
                    yield NONE;
                }
                yield new Claim(uri.getHost(), uri.getPath().substring(1));
            }
            default -> {
                problems.add("spec.model.source \"" + source + "\": unsupported scheme \"" + scheme
                        + "\" (use a path in the image, pvc://CLAIM/PATH or an http(s) URL)");
                yield NONE;
            }
        };
    }

    private static String fileName(String path) {
        String name = path == null ? "" : path.substring(path.lastIndexOf('/') + 1);
        return name.isEmpty() ? "model.gguf" : name;
    }

    record None() implements ModelSource {
        @Override
        public Optional<String> path() {
            return Optional.empty();
        }
    }

    record InImage(String file) implements ModelSource {
        @Override
        public Optional<String> path() {
            return Optional.of(file);
        }
    }

    record Claim(String claim, String file) implements ModelSource {
        @Override
        public Optional<String> path() {
            return Optional.of(PoolPlanner.MODELS_DIR + "/" + file);
        }

        @Override
        public Optional<Volume> volume() {
            return Optional.of(new VolumeBuilder().withName("models").withNewPersistentVolumeClaim()
                    .withClaimName(claim).withReadOnly(true).endPersistentVolumeClaim().build());
        }

        @Override
        public Optional<VolumeMount> mount() {
            return Optional.of(new VolumeMountBuilder().withName("models").withMountPath(PoolPlanner.MODELS_DIR).withReadOnly(true).build());
        }
    }

    record Download(String url, String file) implements ModelSource {
        @Override
        public Optional<String> path() {
            return Optional.of(PoolPlanner.MODELS_DIR + "/" + file);
        }

        @Override
        public Optional<Volume> volume() {
            return Optional.of(new VolumeBuilder().withName("models").withNewEmptyDir().endEmptyDir().build());
        }

        @Override
        public Optional<VolumeMount> mount() {
            return Optional.of(new VolumeMountBuilder().withName("models").withMountPath(PoolPlanner.MODELS_DIR).build());
        }

        @Override
        public Optional<Container> download(String image) {
            return Optional.of(new ContainerBuilder().withName("download-model").withImage(image)
                    .withArgs("-fsSL", "--retry", "5", "-o", PoolPlanner.MODELS_DIR + "/" + file, url)
                    .withVolumeMounts(mount().orElseThrow()).build());
        }
    }
}
