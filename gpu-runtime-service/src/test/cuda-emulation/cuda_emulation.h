// Just enough of CUDA to compile kvmesh.cu as plain C++ (g++ -std=c++17) and run its kernels on the cpu, so that
// their indexing, synchronization and arithmetic can be checked where no GPU is (kernels_check.cpp, run.sh).
//
// Execution model. A launch runs its blocks one at a time per worker (EMU_WORKERS os threads, default: the cpu
// count, each block on one worker); the threads of a block are fibers (ucontext stacks, switched with
// _setjmp/_longjmp) that run concurrently in the cooperative sense: a thread runs until it reaches __syncthreads or
// a warp shuffle, then the others get to run, in an order drawn per block (EMU_ORDER=random|forward|reverse). So:
//   - __syncthreads releases the block only when every thread reached it; a barrier reached while some threads
//     exited, or a shuffle whose warp is not all there (exited lanes, lanes waiting at __syncthreads), is a
//     deadlock on a GPU and is reported as an error of the launch;
//   - a missing __syncthreads shows: a warp runs ahead and reads shared data the others have not written yet, or
//     overwrites what they have not read yet;
//   - __shared__ variables are per block (thread_local: a worker runs one block at a time); dynamic shared memory
//     is `extern __shared__ float shared[]` (the name kvmesh.cu uses), the worker's buffer, filled with NaNs before
//     each block (reads of unwritten shared memory poison results) and checked after it for writes past the
//     launch's requested size.
// What it cannot show: the GPU's memory model (ordering, visibility without barriers), races between warps that the
// barrier-to-barrier interleaving does not hit, timing, and performance.
#ifndef KVMESH_CUDA_EMULATION_H
#define KVMESH_CUDA_EMULATION_H

// _setjmp/_longjmp jump between fiber stacks, which a fortified longjmp may refuse (as into an unused frame).
#ifdef _FORTIFY_SOURCE
#undef _FORTIFY_SOURCE
#endif

#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
// Per block: a worker runs one block at a time, and a block's threads are fibers of that worker.
#define __shared__ thread_local
// __restrict__ is a g++ keyword already.

struct uint3 {
    unsigned int x, y, z;
};

struct dim3 {
    unsigned int x, y, z;
    constexpr dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1) : x(x_), y(y_), z(z_) {}
};

// ---- cuda_fp16.h: the storage type and the conversions kvmesh.cu uses ----

struct __half {
    unsigned short __x;
};
static_assert(sizeof(__half) == 2, "__half is two bytes");

// Exact: every half (subnormals, infinities, NaNs included) is a float.
inline float __half2float(__half h) {
    uint32_t sign = (uint32_t) (h.__x >> 15) << 31;
    uint32_t exponent = (h.__x >> 10) & 31;
    uint32_t mantissa = h.__x & 1023;
    uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else {  // subnormal: mantissa * 2^-24, normalized
            int shift = 0;
            while ((mantissa & 1024) == 0) {
                mantissa <<= 1;
                shift++;
            }
            bits = sign | (uint32_t) (127 - 15 - shift + 1) << 23 | (mantissa & 1023) << 13;
        }
    } else if (exponent == 31) {
        bits = sign | 0x7f800000u | mantissa << 13;
    } else {
        bits = sign | (exponent + 127 - 15) << 23 | mantissa << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

inline __half __ushort_as_half(unsigned short bits) {
    __half h;
    h.__x = bits;
    return h;
}

inline unsigned short __half_as_ushort(__half h) {
    return h.__x;
}

inline float __uint_as_float(unsigned int bits) {
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

inline unsigned int __float_as_uint(float f) {
    unsigned int bits;
    memcpy(&bits, &f, 4);
    return bits;
}

// ---- device math the kernels call unqualified (fmaf, expf, sqrtf, fmaxf, INFINITY come from math.h) ----

inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned int min(unsigned int a, unsigned int b) { return a < b ? a : b; }
inline unsigned int max(unsigned int a, unsigned int b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
inline unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }

namespace cuda_emulation {

constexpr int WARP_SIZE = 32;
constexpr size_t STACK_BYTES = 256 * 1024;
constexpr size_t MAX_DYNAMIC_SHARED_FLOATS = 64 * 1024;  // 256 KB: more than any GPU allows per block
constexpr size_t SHARED_GUARD_FLOATS = 4 * 1024;
constexpr uint32_t SHARED_POISON = 0x7fc0dead;  // a quiet NaN

enum class State : unsigned char { Runnable, AtWarpBarrier, AtBlockBarrier, Done };

struct Fiber {
    uint3 tid;
    unsigned int linear;
    State state;
    bool started;
    unsigned int shuffles;  // how many shuffles this thread did in this block: picks the shuffle buffer
    jmp_buf env;
    ucontext_t context;
    char* stack;
};

struct Warp {
    unsigned int size;
    unsigned int arrived;
    uint64_t exchange[2][WARP_SIZE];
};

struct Worker {
    std::vector<std::unique_ptr<Fiber>> fibers;  // fixed addresses: a started fiber's context points into itself
    std::vector<Warp> warps;
    std::vector<unsigned int> order;
    unsigned int threads = 0;
    unsigned int blockArrived = 0;
    unsigned int done = 0;
    Fiber* current = nullptr;
    const std::function<void()>* body = nullptr;
    jmp_buf scheduler;
    ucontext_t schedulerContext;
    std::string error;  // the first error of the current launch on this worker

    ~Worker() {
        for (auto& f : fibers) {
            munmap(f->stack - getpagesize(), STACK_BYTES + getpagesize());
        }
    }
};

inline thread_local Worker* worker = nullptr;
inline thread_local uint3 blockIdx_;
inline thread_local uint3 blockDim_;
inline thread_local uint3 gridDim_;

inline void fail(const std::string& message) {
    if (worker != nullptr && worker->error.empty()) {
        worker->error = message;
    }
}

// Back to the scheduler; returns when the scheduler resumes this thread.
__attribute__((noinline)) inline void yield() {
    Worker* w = worker;
    if (_setjmp(w->current->env) == 0) {
        _longjmp(w->scheduler, 1);
    }
}

inline void fiber_entry() {
    for (;;) {
        Worker* w = worker;
        (*w->body)();
        w->current->state = State::Done;
        w->done++;
        yield();  // resumed for the next block's thread of this fiber
    }
}

__attribute__((noinline)) inline void resume(Worker* w, Fiber* f) {
    w->current = f;
    if (_setjmp(w->scheduler) == 0) {
        if (!f->started) {
            f->started = true;
            getcontext(&f->context);
            f->context.uc_stack.ss_sp = f->stack;
            f->context.uc_stack.ss_size = STACK_BYTES;
            f->context.uc_link = nullptr;
            makecontext(&f->context, fiber_entry, 0);
            swapcontext(&w->schedulerContext, &f->context);
        } else {
            _longjmp(f->env, 1);
        }
    }
}

inline void block_barrier() {
    Worker* w = worker;
    Fiber* f = w->current;
    f->state = State::AtBlockBarrier;
    if (++w->blockArrived == w->threads) {
        w->blockArrived = 0;
        for (unsigned int i = 0; i < w->threads; i++) {
            w->fibers[i]->state = State::Runnable;
        }
    }
    yield();
}

// Every lane of the warp publishes a value and waits for the others; buffers alternate, so a lane still reading
// shuffle k's values is never overwritten (shuffle k + 2 needs it at shuffle k + 1's barrier first).
inline uint64_t exchange(uint64_t value, int source_lane) {
    Worker* w = worker;
    Fiber* f = w->current;
    Warp& warp = w->warps[f->linear / WARP_SIZE];
    unsigned int lane = f->linear % WARP_SIZE;
    unsigned int buffer = f->shuffles & 1;
    f->shuffles++;
    warp.exchange[buffer][lane] = value;
    f->state = State::AtWarpBarrier;
    if (++warp.arrived == warp.size) {
        warp.arrived = 0;
        unsigned int first = f->linear / WARP_SIZE * WARP_SIZE;
        for (unsigned int i = first; i < first + warp.size; i++) {
            w->fibers[i]->state = State::Runnable;
        }
    }
    yield();
    if (source_lane < 0 || (unsigned int) source_lane >= warp.size) {
        return value;  // as CUDA: a lane outside the warp reads its own value
    }
    return warp.exchange[buffer][source_lane];
}

inline std::string describe(const char* what) {
    return std::string(what) + " (block " + std::to_string(blockIdx_.x) + "," + std::to_string(blockIdx_.y) + ","
            + std::to_string(blockIdx_.z) + ")";
}

inline Fiber& fiber_slot(Worker& w, unsigned int i) {
    while (w.fibers.size() <= i) {
        size_t page = getpagesize();
        void* memory = mmap(nullptr, STACK_BYTES + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (memory == MAP_FAILED) {
            perror("mmap");
            std::abort();
        }
        mprotect(memory, page, PROT_NONE);  // a stack overflow faults instead of corrupting a neighbour
        w.fibers.push_back(std::make_unique<Fiber>());
        w.fibers.back()->stack = (char*) memory + page;
    }
    return *w.fibers[i];
}

}  // namespace cuda_emulation

// The dynamic shared memory of the worker's current block: `extern __shared__ float shared[];` in a kernel is
// `extern thread_local float shared[];`, this array.
inline thread_local float shared[cuda_emulation::MAX_DYNAMIC_SHARED_FLOATS + cuda_emulation::SHARED_GUARD_FLOATS];
// The block-scope `extern thread_local` declaration makes g++ call shared's TLS init function (_ZTH6shared, Itanium
// ABI) if one exists, and g++ 12 may drop the null check of that weak reference. It has nothing to initialize:
// this empty one keeps the call harmless (run.sh also compiles with -fno-extern-tls-init, which omits the call).
extern "C" __attribute__((weak)) void _ZTH6shared() {}

#define threadIdx (::cuda_emulation::worker->current->tid)
#define blockIdx (::cuda_emulation::blockIdx_)
#define blockDim (::cuda_emulation::blockDim_)
#define gridDim (::cuda_emulation::gridDim_)

inline void __syncthreads() {
    ::cuda_emulation::block_barrier();
}

template <typename T>
inline T __shfl_xor_sync(unsigned int mask, T value, int lane_mask, int width = 32) {
    static_assert(sizeof(T) <= 8, "shuffles of at most 8 bytes");
    if (mask != 0xffffffffu || width != 32) {
        ::cuda_emulation::fail(::cuda_emulation::describe("__shfl_xor_sync: only full-warp masks and width 32 are emulated"));
    }
    uint64_t bits = 0;
    memcpy(&bits, &value, sizeof(T));
    int lane = (int) (::cuda_emulation::worker->current->linear % 32);
    uint64_t result = ::cuda_emulation::exchange(bits, lane ^ lane_mask);
    T out;
    memcpy(&out, &result, sizeof(T));
    return out;
}

namespace cuda_emulation {

// Runs one block on this worker: every thread a fiber, until all of them returned.
inline void run_block(Worker& w, uint3 block, uint3 grid, uint3 threads, size_t shared_bytes, uint64_t seed) {
    blockIdx_ = block;
    blockDim_ = threads;
    gridDim_ = grid;
    size_t shared_floats = (shared_bytes + 3) / 4;
    float poison;
    memcpy(&poison, &SHARED_POISON, 4);
    std::fill(shared, shared + shared_floats + SHARED_GUARD_FLOATS, poison);
    unsigned int n = threads.x * threads.y * threads.z;
    w.threads = n;
    w.blockArrived = 0;
    w.done = 0;
    w.warps.assign((n + WARP_SIZE - 1) / WARP_SIZE, Warp{});
    for (unsigned int i = 0; i < w.warps.size(); i++) {
        w.warps[i].size = std::min<unsigned int>(WARP_SIZE, n - i * WARP_SIZE);
    }
    w.order.resize(n);
    for (unsigned int i = 0; i < n; i++) {
        Fiber& f = fiber_slot(w, i);
        f.tid = uint3{i % threads.x, i / threads.x % threads.y, i / (threads.x * threads.y)};
        f.linear = i;
        f.state = State::Runnable;
        f.shuffles = 0;
        w.order[i] = i;
    }
    const char* order = getenv("EMU_ORDER");
    if (order != nullptr && strcmp(order, "reverse") == 0) {
        std::reverse(w.order.begin(), w.order.end());
    } else if (order == nullptr || strcmp(order, "forward") != 0) {
        std::mt19937_64 random(seed);
        std::shuffle(w.order.begin(), w.order.end(), random);
    }
    while (w.done < n) {
        bool ran = false;
        for (unsigned int i : w.order) {
            Fiber* f = w.fibers[i].get();
            if (f->state == State::Runnable) {
                resume(&w, f);
                ran = true;
            }
        }
        if (!ran) {  // nobody can go on: a barrier some threads never reach
            unsigned int at_block = 0;
            unsigned int at_warp = 0;
            for (unsigned int i = 0; i < n; i++) {
                at_block += w.fibers[i]->state == State::AtBlockBarrier;
                at_warp += w.fibers[i]->state == State::AtWarpBarrier;
            }
            fail(describe("deadlock") + ": " + std::to_string(at_block) + " threads wait at __syncthreads, "
                    + std::to_string(at_warp) + " at a warp shuffle, " + std::to_string(w.done) + " of "
                    + std::to_string(n) + " exited");
            // The stuck fibers' stacks are abandoned: they start afresh for the next block.
            for (unsigned int i = 0; i < n; i++) {
                w.fibers[i]->started = false;
            }
            break;
        }
    }
    for (size_t i = shared_floats; i < shared_floats + SHARED_GUARD_FLOATS; i++) {
        uint32_t bits;
        memcpy(&bits, &shared[i], 4);
        if (bits != SHARED_POISON) {
            fail(describe("write past the dynamic shared memory requested") + ": float " + std::to_string(i)
                    + " of " + std::to_string(shared_floats));
            break;
        }
    }
}

inline std::atomic<uint64_t> launches{0};

inline unsigned int worker_count() {
    const char* configured = getenv("EMU_WORKERS");
    int count = configured != nullptr ? atoi(configured) : (int) std::thread::hardware_concurrency();
    return (unsigned int) std::max(1, std::min(count, 64));
}

// Runs body (one thread's kernel call) for every thread of every block. Returns "" or the launch's first error.
inline std::string run_grid(dim3 grid, dim3 block, size_t shared_bytes, const std::function<void()>& body) {
    unsigned int threads = block.x * block.y * block.z;
    if (threads == 0 || threads > 1024 || grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535) {
        return "invalid launch shape";
    }
    if (shared_bytes > MAX_DYNAMIC_SHARED_FLOATS * 4) {
        return "too much dynamic shared memory: " + std::to_string(shared_bytes) + " bytes";
    }
    uint64_t launch = launches++;
    uint64_t blocks = (uint64_t) grid.x * grid.y * grid.z;
    std::atomic<uint64_t> next{0};
    std::mutex errors;
    std::string first_error;
    auto work = [&] {
        Worker w;
        worker = &w;
        w.body = &body;
        for (uint64_t b = next++; b < blocks; b = next++) {
            uint3 index{(unsigned int) (b % grid.x), (unsigned int) (b / grid.x % grid.y),
                        (unsigned int) (b / ((uint64_t) grid.x * grid.y))};
            run_block(w, index, uint3{grid.x, grid.y, grid.z}, uint3{block.x, block.y, block.z}, shared_bytes,
                      launch * 0x9e3779b97f4a7c15ull + b);
            if (!w.error.empty()) {
                break;
            }
        }
        if (!w.error.empty()) {
            std::lock_guard<std::mutex> lock(errors);
            if (first_error.empty()) {
                first_error = w.error;
            }
        }
        worker = nullptr;
    };
    unsigned int count = (unsigned int) std::min<uint64_t>(worker_count(), blocks);
    std::vector<std::thread> pool;
    for (unsigned int i = 1; i < count; i++) {
        pool.emplace_back(work);
    }
    work();
    for (std::thread& t : pool) {
        t.join();
    }
    return first_error;
}

}  // namespace cuda_emulation

// kernel<<<grid, block, shared_bytes>>>(args...): the arguments convert to the kernel's parameter types as in a
// launch. Returns "" when every block ran to its end, else what went wrong (deadlock, shared memory overrun, ...).
template <typename... Params, typename... Args>
std::string launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes, Args&&... args) {
    static_assert(sizeof...(Params) == sizeof...(Args), "a launch passes every kernel parameter");
    std::tuple<Params...> params(std::forward<Args>(args)...);
    std::function<void()> body = [&] { std::apply(kernel, params); };
    return cuda_emulation::run_grid(grid, block, shared_bytes, body);
}

#endif  // KVMESH_CUDA_EMULATION_H
