// kvmesh.cu's kernels on emulated threads (cuda_emulation.h), as a shared library the JVM calls through its
// foreign-function API (EmulatedGpuDevice): build-emulated-device.sh compiles it into libkvmesh_emulated_gpu.so.
//
//   const char* kvmesh_emu_launch(const char* kernel, unsigned grid_x, unsigned grid_y, unsigned grid_z,
//                                 unsigned block_x, unsigned shared_bytes, void** args);
//
// runs kernel (its extern "C" name in kvmesh.cu) on a grid of (grid_x, grid_y, grid_z) blocks of block_x threads
// with shared_bytes of dynamic shared memory, and returns when every block has finished. Arguments as cuLaunchKernel
// takes them: args[i] points at the value of the kernel's i-th parameter (a pointer parameter: at an 8-byte address;
// int and float: at 4 bytes; long long: at 8 bytes). Returns nullptr when the launch ran to its end, else its error
// (unknown kernel, invalid launch shape, deadlock, a write past the dynamic shared memory, ...), a string that stays
// valid until the calling thread's next call. Launches are serialized (any thread may call); the blocks run on the
// emulation's worker threads (EMU_WORKERS, EMU_ORDER as in run.sh). A kernel that faults takes the process down.
#include "cuda_emulation.h"

#include "kvmesh.cu"

#include <cstring>
#include <exception>
#include <string>
#include <utility>

namespace {

// kernel(*static_cast<P*>(args[I])...): each argument read as the exact type of its parameter.
template <typename... P, size_t... I>
std::string launch_indexed(void (*kernel)(P...), dim3 grid, dim3 block, size_t shared_bytes, void** args,
                           std::index_sequence<I...>) {
    return launch(kernel, grid, block, shared_bytes, *static_cast<P*>(args[I])...);
}

template <typename... P>
std::string launch_unpacked(void (*kernel)(P...), dim3 grid, dim3 block, size_t shared_bytes, void** args) {
    return launch_indexed(kernel, grid, block, shared_bytes, args, std::index_sequence_for<P...>{});
}

// One dispatch table entry: the launch of Kernel from packed arguments, instantiated against its signature.
template <auto Kernel>
std::string launch_packed(dim3 grid, dim3 block, size_t shared_bytes, void** args) {
    return launch_unpacked(Kernel, grid, block, shared_bytes, args);
}

struct Entry {
    const char* name;
    std::string (*launch)(dim3 grid, dim3 block, size_t shared_bytes, void** args);
};

// Every kernel of kvmesh.cu, by its name: a kernel missing here is "unknown" (run.sh checks the list against the
// source's extern "C" __global__ definitions).
#define KVMESH_KERNEL(name) Entry{#name, &launch_packed<name>}
const Entry kernels[] = {
        KVMESH_KERNEL(matmul_f32),
        KVMESH_KERNEL(matmul_f16),
        KVMESH_KERNEL(matmul_bf16),
        KVMESH_KERNEL(matmul_q8_0),
        KVMESH_KERNEL(matmul_q4_0),
        KVMESH_KERNEL(rms_norm),
        KVMESH_KERNEL(rope_and_store),
        KVMESH_KERNEL(attention_reduce),
        KVMESH_KERNEL(attention_decode_64),
        KVMESH_KERNEL(attention_decode_128),
        KVMESH_KERNEL(attention_decode_256),
        KVMESH_KERNEL(attention_prefill_64),
        KVMESH_KERNEL(attention_prefill_128),
        KVMESH_KERNEL(attention_prefill_256),
        KVMESH_KERNEL(swiglu),
        KVMESH_KERNEL(add_into),
        KVMESH_KERNEL(gather_rows),
        KVMESH_KERNEL(copy_blocks),
};
#undef KVMESH_KERNEL

}  // namespace

extern "C" __attribute__((visibility("default"))) const char* kvmesh_emu_launch(const char* kernel, unsigned grid_x,
                                                                                unsigned grid_y, unsigned grid_z,
                                                                                unsigned block_x,
                                                                                unsigned shared_bytes, void** args) {
    thread_local std::string error;
    try {
        error.clear();
        const Entry* entry = nullptr;
        for (const Entry& e : kernels) {
            if (kernel != nullptr && strcmp(e.name, kernel) == 0) {
                entry = &e;
                break;
            }
        }
        dim3 grid(grid_x, grid_y, grid_z);
        dim3 block(block_x);
        if (entry == nullptr) {
            error = std::string("unknown kernel: ") + (kernel != nullptr ? kernel : "(null)");
        } else {
            error = cuda_emulation::check_launch(grid, block, shared_bytes);  // before any argument is read
            if (error.empty() && args == nullptr) {
                error = "no arguments (args is null)";
            }
            if (error.empty()) {
                error = entry->launch(grid, block, shared_bytes, args);
            }
        }
    } catch (const std::exception& e) {
        error = std::string("launch failed: ") + e.what();
    } catch (...) {
        error = "launch failed";
    }
    return error.empty() ? nullptr : error.c_str();
}
