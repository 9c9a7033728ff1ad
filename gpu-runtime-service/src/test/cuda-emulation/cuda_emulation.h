// Just enough of CUDA to compile kvmesh.cu as plain C++ (g++ -std=c++17) and run its kernels on the cpu, so that
// their indexing, synchronization and arithmetic can be checked where no GPU is (kernels_check.cpp, run.sh), and so
// that the JVM can run them through emulated_device.cpp.
//
// Execution model. A launch runs its blocks one at a time per worker (EMU_WORKERS os threads, default: the cpu
// count, each block on one worker; the workers are a pool that lives as long as the program, and the launching
// thread only waits for them); the threads of a block are fibers (on x86-64 a hand-written context switch, elsewhere
// ucontext) that run concurrently in the cooperative sense: a thread runs until it reaches __syncthreads or a warp
// shuffle, then the others get to run, in an order drawn per block (EMU_ORDER=random|forward|reverse). So:
//   - __syncthreads releases the block only when every thread reached it; a barrier reached while some threads
//     exited, or a shuffle whose warp is not all there (exited lanes, lanes waiting at __syncthreads), is a
//     deadlock on a GPU and is reported as an error of the launch;
//   - a missing __syncthreads shows: a warp runs ahead and reads shared data the others have not written yet, or
//     overwrites what they have not read yet;
//   - __shared__ variables are per block (thread_local: a worker runs one block at a time); dynamic shared memory
//     is `extern __shared__ float shared[]` (the name kvmesh.cu uses), the worker's buffer, filled with NaNs before
//     each block (reads of unwritten shared memory poison results) and checked after it for writes past the
//     launch's requested size.
// Scheduling: the threads of a block run in passes over the block's order; in a pass, each thread that can go on
// runs until it waits again, and a pass in which none could go on is a deadlock. A waiting thread switches straight
// to the next one of the pass (no round trip through a scheduler), so a shuffle costs one context switch per lane.
// What it cannot show: the GPU's memory model (ordering, visibility without barriers), races between warps that the
// barrier-to-barrier interleaving does not hit, timing, and performance.
#ifndef KVMESH_CUDA_EMULATION_H
#define KVMESH_CUDA_EMULATION_H

#include <math.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

// CUDA_EMULATION_UCONTEXT forces the portable context switch (for comparison, or where the x86-64 one misbehaves).
#if defined(__x86_64__) && !defined(CUDA_EMULATION_UCONTEXT)
#define CUDA_EMULATION_ASM_SWITCH 1
#else
#include <ucontext.h>
#endif

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
constexpr unsigned int MAX_THREADS = 1024;
constexpr size_t STACK_BYTES = 256 * 1024;  // with the guard page
constexpr size_t MAX_DYNAMIC_SHARED_FLOATS = 64 * 1024;  // 256 KB: more than any GPU allows per block
constexpr size_t SHARED_GUARD_FLOATS = 4 * 1024;
constexpr uint32_t SHARED_POISON = 0x7fc0dead;  // a quiet NaN

// ---- context switching: save what the callee must preserve on the current stack, continue on another ----

#ifdef CUDA_EMULATION_ASM_SWITCH

// x86-64 System V: a call preserves rbx, rbp, r12-r15, rsp, the x87 control word and MXCSR's control bits; the
// switch saves them on the stack it leaves (its stack pointer into *save) and restores them from the one it enters
// (the two control registers only when they differ: ldmxcsr and fldcw cost more than the rest of the switch).
// Every other register is caller-saved, so the compiler has them spilled already. A fiber that never ran has its
// stack laid out as if it had switched away just before the trampoline, which calls the entry function on a
// 16-byte-aligned stack (rbp = 0 ends frame-pointer walks; the CFI below ends unwinder walks).
// The code is in a COMDAT group, so every translation unit that includes this header may emit it.
// (Shadow stacks, which Linux does not enable for user programs unless asked to, would need switching too.)
extern "C" {
__attribute__((visibility("hidden"))) void cuda_emulation_switch(void** save, void* load);
__attribute__((visibility("hidden"))) void cuda_emulation_fiber_start();
}
asm(".pushsection .text.cuda_emulation_switch,\"axG\",@progbits,cuda_emulation_switch,comdat\n"
    ".weak cuda_emulation_switch\n"
    ".hidden cuda_emulation_switch\n"
    ".type cuda_emulation_switch,@function\n"
    ".p2align 4\n"
    "cuda_emulation_switch:\n"  // rdi: where to save the stack pointer, rsi: the stack pointer to continue with
    "    pushq %rbp\n"
    "    pushq %rbx\n"
    "    pushq %r12\n"
    "    pushq %r13\n"
    "    pushq %r14\n"
    "    pushq %r15\n"
    "    subq $16, %rsp\n"
    "    stmxcsr 8(%rsp)\n"
    "    fnstcw (%rsp)\n"
    "    movq %rsp, (%rdi)\n"
    "    movl 8(%rsp), %eax\n"
    "    movzwl (%rsp), %ecx\n"
    "    movq %rsi, %rsp\n"
    "    movl 8(%rsp), %edx\n"  // MXCSR: reload only when a control bit differs (loads are slow; the status
    "    xorl %eax, %edx\n"     // flags, bits 0-5, are not preserved across calls anyway)
    "    testl $0xffc0, %edx\n"
    "    jnz 2f\n"
    "1:  cmpw (%rsp), %cx\n"   // the x87 control word likewise
    "    jne 3f\n"
    "4:  addq $16, %rsp\n"
    "    popq %r15\n"
    "    popq %r14\n"
    "    popq %r13\n"
    "    popq %r12\n"
    "    popq %rbx\n"
    "    popq %rbp\n"
    "    ret\n"
    "2:  ldmxcsr 8(%rsp)\n"
    "    jmp 1b\n"
    "3:  fldcw (%rsp)\n"
    "    jmp 4b\n"
    ".size cuda_emulation_switch, .-cuda_emulation_switch\n"
    ".weak cuda_emulation_fiber_start\n"
    ".hidden cuda_emulation_fiber_start\n"
    ".type cuda_emulation_fiber_start,@function\n"
    ".p2align 4\n"
    "cuda_emulation_fiber_start:\n"  // entered by the switch's ret, rsp 16-byte aligned; r12: the entry function
    "    .cfi_startproc\n"
    "    .cfi_undefined rip\n"
    "    callq *%r12\n"
    "    ud2\n"  // the entry function never returns
    "    .cfi_endproc\n"
    ".size cuda_emulation_fiber_start, .-cuda_emulation_fiber_start\n"
    ".popsection\n");

struct Context {
    void* sp = nullptr;
};

inline void context_switch(Context& from, Context& to) {
    cuda_emulation_switch(&from.sp, to.sp);
}

// A context that starts entry() on [stack, stack + size) when switched to.
inline void context_make(Context& context, char* stack, size_t size, void (*entry)()) {
    uintptr_t top = ((uintptr_t) (stack + size) & ~(uintptr_t) 15) - 16;  // the trampoline's rsp: 16-byte aligned
    uint64_t* sp = (uint64_t*) top;
    uint32_t mxcsr = __builtin_ia32_stmxcsr();
    uint16_t fcw;
    __asm__ volatile("fnstcw %0" : "=m"(fcw));
    *--sp = (uint64_t) (uintptr_t) &cuda_emulation_fiber_start;  // the switch's ret
    *--sp = 0;                                                     // rbp
    *--sp = 0;                                                     // rbx
    *--sp = (uint64_t) (uintptr_t) entry;                          // r12
    *--sp = 0;                                                     // r13
    *--sp = 0;                                                     // r14
    *--sp = 0;                                                     // r15
    *--sp = mxcsr;                                                 // ldmxcsr 8(%rsp)
    *--sp = fcw;                                                   // fldcw (%rsp)
    context.sp = sp;
}

#else

// Portable: swapcontext (which also saves and restores the signal mask, a system call per switch).
struct Context {
    ucontext_t context;
};

inline void context_switch(Context& from, Context& to) {
    swapcontext(&from.context, &to.context);
}

inline void context_make(Context& context, char* stack, size_t size, void (*entry)()) {
    getcontext(&context.context);
    context.context.uc_stack.ss_sp = stack;
    context.context.uc_stack.ss_size = size;
    context.context.uc_link = nullptr;
    makecontext(&context.context, entry, 0);
}

#endif

// ---- fibers and workers ----

enum class State : unsigned char { Runnable, AtWarpBarrier, AtBlockBarrier, Done };

struct Warp;

// A thread of the block the worker runs. One cache line each (on x86-64), in one array: passes scan their states.
struct alignas(64) Fiber {
    State state;
    unsigned int lane;
    unsigned int shuffles;  // how many shuffles this thread did in this block: picks the shuffle buffer
    uint3 tid;
    Warp* warp;
    Context context;
    char* stack;  // the usable stack: [stack, stack + stack_size), above a guard page
    size_t stack_size;
};

struct Warp {
    unsigned int size;
    unsigned int arrived;
    Fiber* lanes;  // the warp's fibers, lanes[0 .. size)
    uint64_t exchange[2][WARP_SIZE];
};

// The kernel call of one thread: body(context).
using Body = void (*)(const void* context);

// One per pool thread, for the life of the thread: its fibers (and their stacks) serve every block it runs.
struct Worker {
    std::unique_ptr<Fiber[]> fibers{new Fiber[MAX_THREADS]};  // fibers[i]: thread i of the block
    unsigned int made = 0;                                    // fibers[0 .. made) have a stack
    uint3 block_index{}, block_dim{}, grid_dim{};
    std::vector<Warp> warps;
    std::vector<Fiber*> sequence;  // the block's fibers in the order a pass runs them
    int position = -1;             // the pass's place in sequence
    unsigned int threads = 0;
    unsigned int blockArrived = 0;
    unsigned int done = 0;
    Fiber* current = nullptr;
    Body body = nullptr;
    const void* body_context = nullptr;
    Context scheduler;
    std::string error;  // the first error of the current launch on this worker

    Worker() {
        warps.reserve(MAX_THREADS / WARP_SIZE);
        sequence.reserve(MAX_THREADS);
    }
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;
    ~Worker() {
        for (unsigned int i = 0; i < made; i++) {
            munmap(fibers[i].stack - getpagesize(), STACK_BYTES);
        }
    }

    // The fiber to run next: the next one of this pass that can go on, else (when some threads have not exited)
    // the first one of a new pass; nullptr when all exited or none can go on (a deadlock).
    Fiber* next_runnable() {
        for (int p = position + 1; p < (int) threads; p++) {
            if (sequence[p]->state == State::Runnable) {
                position = p;
                return sequence[p];
            }
        }
        if (done == threads) {
            return nullptr;
        }
        for (int p = 0; p < (int) threads; p++) {
            if (sequence[p]->state == State::Runnable) {
                position = p;
                return sequence[p];
            }
        }
        return nullptr;
    }
};

// The worker of this os thread (a pool thread: see Pool). Read once per kernel call that needs it and passed on:
// in a shared library every thread_local read is a call (__tls_get_addr). (Finding the fiber from the stack pointer
// instead measured slower: what a thread keeps in registers across a switch waits for the loads of the new stack.)
inline thread_local Worker* worker = nullptr;

inline void fail(const std::string& message) {
    if (worker != nullptr && worker->error.empty()) {
        worker->error = message;
    }
}

// The current thread of w waits: the next one that can go on runs (or the scheduler, when none can); returns when
// this thread is run again. One call site of the switch for every fiber, so returns are predicted well.
__attribute__((noinline)) inline void yield(Worker* w) {
    Fiber* self = w->current;
    Fiber* next = w->next_runnable();
    if (next == self) {
        return;
    }
    w->current = next;
    context_switch(self->context, next != nullptr ? next->context : w->scheduler);
}

// Every fiber runs this: one kernel thread per block it is given.
inline void fiber_main() {
    Worker* w = worker;  // a fiber stays with its worker
    for (;;) {
        w->body(w->body_context);
        w->current->state = State::Done;
        w->done++;
        yield(w);  // resumed for the next block's thread of this fiber
    }
}

inline void block_barrier() {
    Worker* w = worker;
    w->current->state = State::AtBlockBarrier;
    if (++w->blockArrived == w->threads) {
        w->blockArrived = 0;
        for (unsigned int i = 0; i < w->threads; i++) {
            w->fibers[i].state = State::Runnable;
        }
    }
    yield(w);
}

// Every lane of the warp publishes a value and waits for the others; buffers alternate, so a lane still reading
// shuffle k's values is never overwritten (shuffle k + 2 needs it at shuffle k + 1's barrier first).
inline uint64_t exchange(uint64_t value, int lane_mask) {
    Worker* w = worker;
    Fiber* f = w->current;
    Warp& warp = *f->warp;
    int source_lane = (int) f->lane ^ lane_mask;
    unsigned int buffer = f->shuffles & 1;
    f->shuffles++;
    warp.exchange[buffer][f->lane] = value;
    f->state = State::AtWarpBarrier;
    if (++warp.arrived == warp.size) {
        warp.arrived = 0;
        for (unsigned int i = 0; i < warp.size; i++) {
            warp.lanes[i].state = State::Runnable;
        }
    }
    yield(w);
    if (source_lane < 0 || (unsigned int) source_lane >= warp.size) {
        return value;  // as CUDA: a lane outside the warp reads its own value
    }
    return warp.exchange[buffer][source_lane];
}

inline std::string describe(const char* what) {
    uint3 block = worker != nullptr ? worker->block_index : uint3{0, 0, 0};
    return std::string(what) + " (block " + std::to_string(block.x) + "," + std::to_string(block.y) + ","
            + std::to_string(block.z) + ")";
}

// Fiber i of the worker, with a stack (made on first use, kept for the life of the worker).
inline Fiber& fiber_slot(Worker& w, unsigned int i) {
    while (w.made <= i) {
        size_t page = getpagesize();
        char* memory = (char*) mmap(nullptr, STACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (memory == MAP_FAILED) {
            perror("mmap");
            std::abort();
        }
        mprotect(memory, page, PROT_NONE);  // a stack overflow faults instead of corrupting a neighbour
        Fiber& f = w.fibers[w.made];
        f.stack = memory + page;
        // Stack tops STACK_BYTES apart share their cache sets: start each a different number of cache lines lower
        // (576 bytes is 9 lines, so 64 stacks in a row start on 64 different lines of a 4 KB page).
        f.stack_size = STACK_BYTES - page - w.made * 576 % 4096;
        context_make(f.context, f.stack, f.stack_size, fiber_main);
        w.made++;
    }
    return w.fibers[i];
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
#define blockIdx (::cuda_emulation::worker->block_index)
#define blockDim (::cuda_emulation::worker->block_dim)
#define gridDim (::cuda_emulation::worker->grid_dim)

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
    uint64_t result = ::cuda_emulation::exchange(bits, lane_mask);
    T out;
    memcpy(&out, &result, sizeof(T));
    return out;
}

namespace cuda_emulation {

enum class Order { Random, Forward, Reverse };

inline Order order_from_environment() {
    const char* order = getenv("EMU_ORDER");
    if (order != nullptr && strcmp(order, "reverse") == 0) {
        return Order::Reverse;
    }
    if (order != nullptr && strcmp(order, "forward") == 0) {
        return Order::Forward;
    }
    return Order::Random;
}

// Runs one block on this worker: every thread a fiber, until all of them returned. fill_guard: poison the guard
// after the requested shared memory too (the worker's first block of a launch; later ones find it checked intact).
inline void run_block(Worker& w, uint3 block, uint3 grid, uint3 threads, size_t shared_floats, bool fill_guard,
                      Order order, uint64_t seed) {
    w.block_index = block;
    w.block_dim = threads;
    w.grid_dim = grid;
    float poison;
    memcpy(&poison, &SHARED_POISON, 4);
    std::fill(shared, shared + shared_floats + (fill_guard ? SHARED_GUARD_FLOATS : 0), poison);
    unsigned int n = threads.x * threads.y * threads.z;
    w.threads = n;
    w.blockArrived = 0;
    w.done = 0;
    w.warps.resize((n + WARP_SIZE - 1) / WARP_SIZE);
    for (unsigned int i = 0; i < w.warps.size(); i++) {
        w.warps[i].size = std::min<unsigned int>(WARP_SIZE, n - i * WARP_SIZE);
        w.warps[i].arrived = 0;
        w.warps[i].lanes = &w.fibers[i * WARP_SIZE];
    }
    w.sequence.resize(n);
    for (unsigned int i = 0; i < n; i++) {
        Fiber& f = fiber_slot(w, i);
        f.tid = uint3{i % threads.x, i / threads.x % threads.y, i / (threads.x * threads.y)};
        f.lane = i % WARP_SIZE;
        f.warp = &w.warps[i / WARP_SIZE];
        f.state = State::Runnable;
        f.shuffles = 0;
        w.sequence[i] = &f;
    }
    if (order == Order::Reverse) {
        std::reverse(w.sequence.begin(), w.sequence.end());
    } else if (order == Order::Random) {
        std::mt19937_64 random(seed);
        std::shuffle(w.sequence.begin(), w.sequence.end(), random);
    }
    // The fibers switch among themselves, and back here when all exited or none can go on.
    w.position = -1;
    w.current = w.next_runnable();
    context_switch(w.scheduler, w.current->context);
    w.current = nullptr;
    if (w.done < n) {  // nobody can go on: a barrier some threads never reach
        unsigned int at_block = 0;
        unsigned int at_warp = 0;
        for (unsigned int i = 0; i < n; i++) {
            at_block += w.fibers[i].state == State::AtBlockBarrier;
            at_warp += w.fibers[i].state == State::AtWarpBarrier;
        }
        fail(describe("deadlock") + ": " + std::to_string(at_block) + " threads wait at __syncthreads, "
                + std::to_string(at_warp) + " at a warp shuffle, " + std::to_string(w.done) + " of "
                + std::to_string(n) + " exited");
        // The stuck fibers' stacks are abandoned: they start afresh for the next block.
        for (unsigned int i = 0; i < n; i++) {
            Fiber& f = w.fibers[i];
            context_make(f.context, f.stack, f.stack_size, fiber_main);
        }
    }
    // The guard is intact when its first word is the poison and every word equals the next.
    const float* guard = shared + shared_floats;
    uint32_t first;
    memcpy(&first, guard, 4);
    if (first != SHARED_POISON || memcmp(guard, guard + 1, (SHARED_GUARD_FLOATS - 1) * 4) != 0) {
        for (size_t i = 0; i < SHARED_GUARD_FLOATS; i++) {
            uint32_t bits;
            memcpy(&bits, &guard[i], 4);
            if (bits != SHARED_POISON) {
                fail(describe("write past the dynamic shared memory requested") + ": float "
                        + std::to_string(shared_floats + i) + " of " + std::to_string(shared_floats));
                break;
            }
        }
    }
}

inline std::atomic<uint64_t> launches{0};

inline unsigned int worker_count() {
    const char* configured = getenv("EMU_WORKERS");
    int count = configured != nullptr ? atoi(configured) : (int) std::thread::hardware_concurrency();
    return (unsigned int) std::max(1, std::min(count, 64));
}

// The os threads that run blocks, started as launches first need them and kept (each with its Worker: fibers and
// stacks are made once per thread). One run at a time; the calling thread waits (it never runs a fiber itself,
// which keeps foreign stacks off a caller such as a JVM thread). Joined when the program (or library) unloads.
class Pool {
public:
    static Pool& instance() {
        static Pool pool;
        return pool;
    }

    // work(context) on count pool threads at once; returns when every one returned.
    void run(unsigned int count, void (*work)(void*), void* context) {
        std::lock_guard<std::mutex> one_at_a_time(launch_);
        std::unique_lock<std::mutex> lock(mutex_);
        while (threads_.size() < count) {
            unsigned int index = (unsigned int) threads_.size();
            threads_.emplace_back([this, index] { loop(index); });
        }
        work_ = work;
        context_ = context;
        count_ = count;
        finished_ = 0;
        generation_++;
        wake_.notify_all();
        done_.wait(lock, [&] { return finished_ == count_; });
    }

    ~Pool() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        for (std::thread& t : threads_) {
            t.join();
        }
    }

private:
    Pool() = default;

    void loop(unsigned int index) {
        Worker w;
        worker = &w;
        uint64_t seen = 0;
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
            if (stop_) {
                break;
            }
            seen = generation_;
            if (index < count_) {  // a run finishes only when all of its threads did: none misses its generation
                void (*work)(void*) = work_;
                void* context = context_;
                lock.unlock();
                work(context);
                lock.lock();
                if (++finished_ == count_) {
                    done_.notify_all();
                }
            }
        }
        worker = nullptr;
    }

    std::mutex launch_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    std::vector<std::thread> threads_;
    uint64_t generation_ = 0;
    void (*work_)(void*) = nullptr;
    void* context_ = nullptr;
    unsigned int count_ = 0;
    unsigned int finished_ = 0;
    bool stop_ = false;
};

// "" when the emulation can run a launch of this shape, else why not.
inline std::string check_launch(dim3 grid, dim3 block, size_t shared_bytes) {
    uint64_t threads = (uint64_t) block.x * block.y * block.z;
    if (threads == 0 || threads > MAX_THREADS || grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535
        || grid.z > 65535) {
        return "invalid launch shape: grid (" + std::to_string(grid.x) + "," + std::to_string(grid.y) + ","
                + std::to_string(grid.z) + "), block (" + std::to_string(block.x) + "," + std::to_string(block.y)
                + "," + std::to_string(block.z) + ")";
    }
    if (shared_bytes > MAX_DYNAMIC_SHARED_FLOATS * 4) {
        return "too much dynamic shared memory: " + std::to_string(shared_bytes) + " bytes";
    }
    return "";
}

// Runs body(body_context) (one thread's kernel call) for every thread of every block. Returns "" or the launch's
// first error.
inline std::string run_grid(dim3 grid, dim3 block, size_t shared_bytes, Body body, const void* body_context) {
    std::string invalid = check_launch(grid, block, shared_bytes);
    if (!invalid.empty()) {
        return invalid;
    }
    struct Launch {
        dim3 grid, block;
        size_t shared_floats;
        Order order;
        uint64_t id;
        uint64_t blocks;
        Body body;
        const void* body_context;
        std::atomic<uint64_t> next{0};
        std::mutex errors;
        std::string first_error;
    } launch;
    launch.grid = grid;
    launch.block = block;
    launch.shared_floats = (shared_bytes + 3) / 4;
    launch.order = order_from_environment();
    launch.id = launches++;
    launch.blocks = (uint64_t) grid.x * grid.y * grid.z;
    launch.body = body;
    launch.body_context = body_context;
    auto work = [](void* context) {
        Launch& l = *static_cast<Launch*>(context);
        Worker& w = *worker;
        w.body = l.body;
        w.body_context = l.body_context;
        w.error.clear();
        bool fill_guard = true;
        for (uint64_t b = l.next++; b < l.blocks; b = l.next++) {
            uint3 index{(unsigned int) (b % l.grid.x), (unsigned int) (b / l.grid.x % l.grid.y),
                        (unsigned int) (b / ((uint64_t) l.grid.x * l.grid.y))};
            run_block(w, index, uint3{l.grid.x, l.grid.y, l.grid.z}, uint3{l.block.x, l.block.y, l.block.z},
                      l.shared_floats, fill_guard, l.order, l.id * 0x9e3779b97f4a7c15ull + b);
            fill_guard = false;
            if (!w.error.empty()) {
                break;
            }
        }
        if (!w.error.empty()) {
            std::lock_guard<std::mutex> lock(l.errors);
            if (l.first_error.empty()) {
                l.first_error = w.error;
            }
        }
        w.body = nullptr;
        w.body_context = nullptr;
    };
    unsigned int count = (unsigned int) std::min<uint64_t>(worker_count(), launch.blocks);
    Pool::instance().run(count, work, &launch);
    return launch.first_error;
}

}  // namespace cuda_emulation

// kernel<<<grid, block, shared_bytes>>>(args...): the arguments convert to the kernel's parameter types as in a
// launch. Returns "" when every block ran to its end, else what went wrong (deadlock, shared memory overrun, ...).
template <typename... Params, typename... Args>
std::string launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes, Args&&... args) {
    static_assert(sizeof...(Params) == sizeof...(Args), "a launch passes every kernel parameter");
    struct Call {
        void (*kernel)(Params...);
        std::tuple<Params...> params;
    };
    Call call{kernel, std::tuple<Params...>(std::forward<Args>(args)...)};
    return cuda_emulation::run_grid(
            grid, block, shared_bytes,
            [](const void* context) {
                const Call& c = *static_cast<const Call*>(context);
                std::apply(c.kernel, c.params);
            },
            &call);
}

#endif  // KVMESH_CUDA_EMULATION_H
