package io.kvmesh.operator.crd.v1alpha1;

/** What a gateway does when the endpoint picker does not answer (Gateway API Inference Extension, v1). */
public enum EndpointPickerFailureMode {
    /** Forward the request to an endpoint of the gateway's own choosing. */
    FailOpen,
    /** Drop the request. */
    FailClose
}
