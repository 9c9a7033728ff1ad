// Smoke test of libkvmesh_emulated_gpu.so (emulated_device.cpp) as the JVM uses it: dlopen, kvmesh_emu_launch with
// cuLaunchKernel's void** arguments, results compared bit for bit with the same kernels launched directly (this
// program's own copy of kvmesh.cu on the emulation). Run by run.sh:
//   emulated_device_check LIBRARY [KERNEL...]   KERNEL: every extern "C" kernel name of kvmesh.cu, each of which the
//                                               library must know
//   emulated_device_check LIBRARY --bench       times fiber switches (this program's emulation, one worker) and,
//                                               through the library, the logits projection (matmul_f32,
//                                               100352 x 320, n = 2, as the backend launches it)
// One line per check; exits 1 when any check fails.
#include "cuda_emulation.h"

#include "kvmesh.cu"

#include <dlfcn.h>

#include <chrono>
#include <limits>

namespace {

using Launch = const char* (*) (const char* kernel, unsigned grid_x, unsigned grid_y, unsigned grid_z,
                                unsigned block_x, unsigned shared_bytes, void** args);

int checks = 0;
int failures = 0;

void report(const std::string& name, const std::string& problem) {
    checks++;
    failures += !problem.empty();
    printf("%s %s%s%s\n", problem.empty() ? "PASS" : "FAIL", name.c_str(), problem.empty() ? "" : ": ",
           problem.c_str());
    fflush(stdout);
}

std::string error_of(const char* error) {
    return error == nullptr ? "" : error;
}

std::vector<float> uniform(std::mt19937& random, size_t n) {
    std::uniform_real_distribution<float> distribution(-1, 1);
    std::vector<float> out(n);
    for (float& x : out) {
        x = distribution(random);
    }
    return out;
}

// "" when got and expected are the same bits, else where they first differ.
std::string same_bits(const std::vector<float>& got, const std::vector<float>& expected) {
    for (size_t i = 0; i < got.size(); i++) {
        if (memcmp(&got[i], &expected[i], sizeof(float)) != 0) {
            return "differs at " + std::to_string(i) + ": " + std::to_string(got[i]) + " vs "
                    + std::to_string(expected[i]);
        }
    }
    return "";
}

void check_matmul(Launch launch_library, std::mt19937& random) {
    int rows = 37, cols = 96, n = 13;
    std::vector<float> w = uniform(random, (size_t) rows * cols);
    std::vector<float> x = uniform(random, (size_t) n * cols);
    float nan = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> expected((size_t) n * rows, nan), got((size_t) n * rows, nan);
    dim3 grid((rows + MATMUL_ROWS - 1) / MATMUL_ROWS, (n + MATMUL_BATCH - 1) / MATMUL_BATCH);
    std::string problem = launch(matmul_f32, grid, dim3(MATMUL_ROWS * 32), 0, (const float*) w.data(),
                                 (const float*) x.data(), expected.data(), rows, cols, n);
    const float* w_pointer = w.data();
    const float* x_pointer = x.data();
    float* y_pointer = got.data();
    void* args[] = {&w_pointer, &x_pointer, &y_pointer, &rows, &cols, &n};
    for (int repeat = 0; repeat < 3 && problem.empty(); repeat++) {  // the library's workers serve launch after launch
        std::fill(got.begin(), got.end(), nan);
        problem = error_of(launch_library("matmul_f32", grid.x, grid.y, 1, MATMUL_ROWS * 32, 0, args));
        if (problem.empty()) {
            problem = same_bits(got, expected);
        }
    }
    report("library: matmul_f32 rows=37 cols=96 n=13 = direct launch", problem);
}

void check_attention_decode(Launch launch_library, std::mt19937& random) {
    // Two sequences in a pool of 6 blocks of 16 slots: 40 tokens (blocks 3, 0, 5) and 7 (block 2); decode rows 0
    // (the first, at position 39) and 1 (the second, at 6), in 2 parts of 20 positions.
    int heads = 4, kv_heads = 2, head_dim = 64, block_size = 16, part_len = 20, parts = 2;
    float scale = 0.125f;
    int kv_dim = kv_heads * head_dim;
    std::vector<float> q = uniform(random, 2 * (size_t) heads * head_dim);
    std::vector<float> keys = uniform(random, 6 * (size_t) block_size * kv_dim);
    std::vector<float> values = uniform(random, 6 * (size_t) block_size * kv_dim);
    std::vector<int> tokens = {0, 1}, positions = {39, 6}, tables = {3, 0, 5, 2}, table_starts = {0, 3};
    size_t partial_floats = tokens.size() * heads * parts * (head_dim + 2);
    float nan = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> expected(partial_floats, nan), got(partial_floats, nan);
    dim3 grid((unsigned) tokens.size(), heads, parts);
    unsigned shared_bytes = (2 * ATTENTION_WARPS + ATTENTION_WARPS * head_dim) * sizeof(float);
    std::string problem = launch(attention_decode_64, grid, dim3(ATTENTION_WARPS * 32), shared_bytes, q.data(),
                                 keys.data(), values.data(), tokens.data(), positions.data(), tables.data(),
                                 table_starts.data(), expected.data(), heads, kv_heads, head_dim, block_size,
                                 part_len, scale);
    const float* q_pointer = q.data();
    const float* keys_pointer = keys.data();
    const float* values_pointer = values.data();
    const int* tokens_pointer = tokens.data();
    const int* positions_pointer = positions.data();
    const int* tables_pointer = tables.data();
    const int* starts_pointer = table_starts.data();
    float* partials_pointer = got.data();
    void* args[] = {&q_pointer, &keys_pointer, &values_pointer, &tokens_pointer, &positions_pointer,
                    &tables_pointer, &starts_pointer, &partials_pointer, &heads, &kv_heads, &head_dim,
                    &block_size, &part_len, &scale};
    if (problem.empty()) {
        problem = error_of(launch_library("attention_decode_64", grid.x, grid.y, grid.z, ATTENTION_WARPS * 32,
                                          shared_bytes, args));
    }
    if (problem.empty()) {
        problem = same_bits(got, expected);
    }
    report("library: attention_decode_64 heads=4 kvHeads=2 parts=2 = direct launch", problem);
}

// Errors come back as text (and a launch after one works).
void check_errors(Launch launch_library, const std::vector<std::string>& kernel_names) {
    auto expect = [&](const std::string& name, const char* error, const char* start) {
        std::string text = error_of(error);
        report(name, text.rfind(start, 0) == 0 ? "" : "got '" + text + "', not '" + start + "...'");
    };
    expect("library: an unknown kernel is reported",
           launch_library("no_such_kernel", 1, 1, 1, 32, 0, nullptr), "unknown kernel: no_such_kernel");
    expect("library: too much dynamic shared memory is reported",
           launch_library("rms_norm", 1, 1, 1, 32, 1 << 20, nullptr), "too much dynamic shared memory");
    // The shape is checked before the arguments are read, so every kernel can be asked for without any.
    std::string unknown;
    for (const std::string& name : kernel_names) {
        std::string text = error_of(launch_library(name.c_str(), 0, 1, 1, 32, 0, nullptr));
        if (text.rfind("invalid launch shape", 0) != 0) {
            unknown += " " + name + " ('" + text + "')";
        }
    }
    if (kernel_names.empty()) {
        unknown = " (no kernel names given)";
    }
    report("library: knows all " + std::to_string(kernel_names.size()) + " kernels of kvmesh.cu",
           unknown.empty() ? "" : "not:" + unknown);
}

// Every lane shuffles count times: count suspensions (and switches) per thread.
__global__ void shuffles(float* out, int count) {
    float value = (float) threadIdx.x;
    for (int i = 0; i < count; i++) {
        value += __shfl_xor_sync(0xffffffffu, value, 1);
    }
    out[threadIdx.x] = value;
}

void bench(Launch launch_library) {
    {
        const char* workers = getenv("EMU_WORKERS");
        std::string saved = workers != nullptr ? workers : "";
        setenv("EMU_WORKERS", "1", 1);
        std::vector<float> out(128);
        for (int repeat = 0; repeat < 3; repeat++) {
            auto start = std::chrono::steady_clock::now();
            std::string error = launch(shuffles, dim3(1), dim3(128), 0, out.data(), 20000);
            double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            printf("switches: 128 threads x 20000 shuffles on one worker: %.1f M thread switches/s %s\n",
                   128 * 20000 / seconds / 1e6, error.c_str());
        }
        if (workers != nullptr) {
            setenv("EMU_WORKERS", saved.c_str(), 1);
        } else {
            unsetenv("EMU_WORKERS");
        }
    }
    int rows = 100352, cols = 320, n = 2;
    std::mt19937 random(1);
    std::vector<float> w = uniform(random, (size_t) rows * cols), x = uniform(random, (size_t) n * cols);
    std::vector<float> y((size_t) n * rows);
    const float* w_pointer = w.data();
    const float* x_pointer = x.data();
    float* y_pointer = y.data();
    void* args[] = {&w_pointer, &x_pointer, &y_pointer, &rows, &cols, &n};
    for (int repeat = 0; repeat < 3; repeat++) {
        auto start = std::chrono::steady_clock::now();
        std::string error = error_of(launch_library("matmul_f32", 25088, 1, 1, 128, 0, args));
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        printf("library: matmul_f32 rows=%d cols=%d n=%d grid (25088,1) block 128, %u workers: %.3f s %s\n", rows,
               cols, n, cuda_emulation::worker_count(), seconds, error.c_str());
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s LIBRARY [KERNEL... | --bench]\n", argv[0]);
        return 2;
    }
    void* library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    Launch launch_library = library != nullptr ? (Launch) dlsym(library, "kvmesh_emu_launch") : nullptr;
    if (launch_library == nullptr) {
        printf("FAIL library: cannot load kvmesh_emu_launch from %s: %s\n", argv[1], dlerror());
        return 1;
    }
    if (argc == 3 && strcmp(argv[2], "--bench") == 0) {
        bench(launch_library);
        return 0;
    }
    std::vector<std::string> kernel_names(argv + 2, argv + argc);
    std::mt19937 random(20240612);
    check_matmul(launch_library, random);
    check_attention_decode(launch_library, random);
    check_errors(launch_library, kernel_names);
    printf("%d library checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
