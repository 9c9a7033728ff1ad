/**
 * The {@code InferencePool} custom resource, API group {@code kvmesh.io}, version {@code v1alpha1}: the Java types from
 * which {@code crds/inferencepools.kvmesh.io-v1.yml} is generated. Validation and defaults live on the fields as
 * fabric8 generator annotations, so the apiserver enforces them; every field a user may omit has its default both in
 * the schema and as the field's initial value (a test keeps the two equal).
 */
package io.kvmesh.operator.crd.v1alpha1;
