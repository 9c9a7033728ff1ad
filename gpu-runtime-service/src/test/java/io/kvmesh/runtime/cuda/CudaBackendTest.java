package io.kvmesh.runtime.cuda;

import org.junit.jupiter.api.extension.ExtendWith;

import io.kvmesh.runtime.model.LlamaModel;

/** {@link CudaBackendChecks} on the GPU; skipped with the probe's reason where there is none. */
@ExtendWith(NeedsUsableGpu.class)
class CudaBackendTest extends CudaBackendChecks {

    @Override
    CudaBackend backend(LlamaModel model, int blocks, int hostBlocks) {
        return new CudaBackend(model, blocks, hostBlocks, 16);
    }
}
