package io.kvmesh.operator.crd.v1alpha1;

/** Regular expressions the schema checks string fields with, so the apiserver rejects what the services would. */
final class SchemaPatterns {

    /**
     * A duration as the services' configuration reads it: a whole number and one unit, such as 10ms, 2s, 5m or 1h
     * (Quarkus also reads ISO-8601, which the schema does not offer).
     */
    static final String DURATION = "^[0-9]+(ms|s|m|h)$";

    /**
     * A non-negative Kubernetes quantity of bytes such as 512Mi or 2Gi, read with fabric8's {@code Quantity}. The field
     * is a string rather than a {@code Quantity}: the generator gives a Quantity an int-or-string schema with no
     * pattern, which lets any string through.
     */
    static final String BYTE_QUANTITY = "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$";

    /** A Kubernetes object name (RFC 1123 subdomain), such as the name of a Secret or Service. */
    static final String OBJECT_NAME = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

    private SchemaPatterns() {
    }
}
