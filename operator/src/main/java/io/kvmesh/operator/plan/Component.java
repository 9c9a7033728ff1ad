package io.kvmesh.operator.plan;

/** The three kinds of process a pool runs, with their object-name suffix, label, image name and HTTP port. */
public enum Component {
    RUNTIME("runtime", "gpu-runtime-service", 8000),
    ROUTER("router", "router-service", 8080),
    CACHE_INDEX("cache-index", "cache-index-service", 8090);

    private final String label;
    private final String image;
    private final int port;

    Component(String label, String image, int port) {
        this.label = label;
        this.image = image;
        this.port = port;
    }

    /** {@code app.kubernetes.io/component} and the suffix of the objects' names ({@code POOL-runtime}). */
    public String label() {
        return label;
    }

    /** The service's artifact and image name. */
    public String image() {
        return image;
    }

    /** The HTTP port its {@code quarkus.http.port} defaults to. */
    public int port() {
        return port;
    }

    public String objectName(String pool) {
        return pool + "-" + label;
    }
}
