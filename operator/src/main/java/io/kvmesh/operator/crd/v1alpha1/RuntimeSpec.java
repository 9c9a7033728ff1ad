package io.kvmesh.operator.crd.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Size;
import io.fabric8.kubernetes.api.model.ResourceRequirements;

/** The runtime pods (gpu-runtime-service). */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"image", "backend", "resources", "blockSize", "kvCacheBlocks", "kvCacheSize", "hostSwapSize"})
public class RuntimeSpec {

    @Size(min = 1)
    @JsonPropertyDescription("Container image of gpu-runtime-service; unset, the operator's configured default.")
    private String image;

    @Default("auto")
    @JsonPropertyDescription("Compute backend (kvmesh.backend): auto picks cuda when the pod sees a GPU, cpu otherwise; "
            + "sim computes nothing and only models the cost.")
    private ComputeBackend backend = ComputeBackend.AUTO;

    @JsonPropertyDescription("CPU, memory and GPU (nvidia.com/gpu) requests and limits of the runtime container. The "
            + "memory limit must hold the KV cache (kvCacheSize), the host swap tier (hostSwapSize) and the model.")
    private ResourceRequirements resources;

    @Min(1)
    @Max(256)
    @Default("16")
    @JsonPropertyDescription("Tokens per KV block (kvmesh.block-size); runtime pods and routers hash prompts in blocks "
            + "of this size, so it is one value for the whole pool.")
    private int blockSize = 16;

    @Min(1)
    @JsonPropertyDescription("KV blocks in device memory per pod (kvmesh.kv-blocks); when set it wins over kvCacheSize. "
            + "Unset: what kvCacheSize holds (cpu, cuda) or 4096 (sim).")
    private Integer kvCacheBlocks;

    @Pattern(SchemaPatterns.BYTE_QUANTITY)
    @Default("256Mi")
    @JsonPropertyDescription("Device memory for the KV cache per pod, such as 256Mi or 8Gi (kvmesh.kv-cache-mib); "
            + "used when kvCacheBlocks is unset.")
    private String kvCacheSize = "256Mi";

    @Pattern(SchemaPatterns.BYTE_QUANTITY)
    @JsonPropertyDescription("Host memory per pod for KV blocks swapped out of the device, such as 4Gi; unset, the pod "
            + "has no host tier and LAMPS cannot choose swap.")
    private String hostSwapSize;

    public String getImage() {
        return image;
    }

    public void setImage(String image) {
        this.image = image;
    }

    public ComputeBackend getBackend() {
        return backend;
    }

    public void setBackend(ComputeBackend backend) {
        this.backend = backend;
    }

    public ResourceRequirements getResources() {
        return resources;
    }

    public void setResources(ResourceRequirements resources) {
        this.resources = resources;
    }

    public int getBlockSize() {
        return blockSize;
    }

    public void setBlockSize(int blockSize) {
        this.blockSize = blockSize;
    }

    public Integer getKvCacheBlocks() {
        return kvCacheBlocks;
    }

    public void setKvCacheBlocks(Integer kvCacheBlocks) {
        this.kvCacheBlocks = kvCacheBlocks;
    }

    public String getKvCacheSize() {
        return kvCacheSize;
    }

    public void setKvCacheSize(String kvCacheSize) {
        this.kvCacheSize = kvCacheSize;
    }

    public String getHostSwapSize() {
        return hostSwapSize;
    }

    public void setHostSwapSize(String hostSwapSize) {
        this.hostSwapSize = hostSwapSize;
    }
}
