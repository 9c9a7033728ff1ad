package io.kvmesh.operator.plan;

/**
 * What the operator fills in where a pool says nothing: images (REGISTRY/NAME:TAG per component), their pull policy,
 * and the image of the init container that downloads a model from a URL (its entry point must be curl).
 */
public record OperatorDefaults(String registry, String tag, String imagePullPolicy, String downloadImage) {

    public static final OperatorDefaults STANDARD = new OperatorDefaults("ghcr.io/kvmesh", "0.1.0", "IfNotPresent",
            "curlimages/curl:8.11.0");

    public String image(Component component) {
        return registry + "/" + component.image() + ":" + tag;
    }
}
