// The cuda backend's kernels (io.kvmesh.runtime.cuda.CudaBackend launches them through JCuda's driver API).
// Built ahead of time by build-kernels.sh into resources (PTX and a fatbin); CudaKernelsTest fails when the
// checked-in builds are stale. Activations are float32, one row per token. K/V caches are float32 and paged:
// per layer, slot s (block s / blockSize) holds kvDim floats at s * kvDim, as the cpu backend's KvStore does,
// so a sequence's position t lives at slot table[t / blockSize] * blockSize + t % blockSize.
#include <cuda_fp16.h>
#include <stdint.h>

#define WARP 32
// Weight rows per matmul block (one warp each) and inputs each warp multiplies per pass over its row: every
// weight is read once per MATMUL_BATCH tokens, which is what decode throughput depends on.
#define MATMUL_ROWS 4
#define MATMUL_BATCH 8
// Attention holds a head's dims in registers, LANE_DIMS per lane (entry points for head dims up to 64, 128, 256).
#define ATTENTION_WARPS 4
// Prefill: queries per block (one warp each) sharing every K/V tile loaded into shared memory.
#define PREFILL_QUERIES 8
#define PREFILL_KEYS 16

__device__ __forceinline__ float warp_sum(float value) {
    for (int offset = WARP / 2; offset > 0; offset >>= 1) {
        value += __shfl_xor_sync(0xffffffffu, value, offset);
    }
    return value;
}

// A half float at any byte address (quantized blocks are 34 or 18 bytes long, so their scales are unaligned).
__device__ __forceinline__ float half_at(const uint8_t* bytes) {
    unsigned short bits = (unsigned short) (bytes[0] | (bytes[1] << 8));
    return __half2float(__ushort_as_half(bits));
}

// Weight (row, col) of each ggml storage type, dequantized as WeightMatrix does on the cpu.
struct F32Weights {
    const float* data;
    __device__ float get(size_t row, int cols, int col) const { return data[row * cols + col]; }
};
struct F16Weights {
    const __half* data;
    __device__ float get(size_t row, int cols, int col) const { return __half2float(data[row * cols + col]); }
};
struct BF16Weights {
    const unsigned short* data;
    __device__ float get(size_t row, int cols, int col) const {
        return __uint_as_float(((unsigned int) data[row * cols + col]) << 16);
    }
};
// Blocks of 32: a half scale, then 32 signed bytes.
struct Q8_0Weights {
    const uint8_t* data;
    __device__ float get(size_t row, int cols, int col) const {
        const uint8_t* block = data + (row * cols + col) / 32 * 34;
        return half_at(block) * (float) (int8_t) block[2 + col % 32];
    }
};
// Blocks of 32: a half scale, then 16 bytes of nibbles (low nibbles are elements 0..15, high ones 16..31), minus 8.
struct Q4_0Weights {
    const uint8_t* data;
    __device__ float get(size_t row, int cols, int col) const {
        const uint8_t* block = data + (row * cols + col) / 32 * 18;
        int i = col % 32;
        int packed = block[2 + (i & 15)];
        int q = i < 16 ? (packed & 15) : (packed >> 4);
        return half_at(block) * (float) (q - 8);
    }
};

// y[b][row] = W[row] . x[b] for b < n. Grid: (ceil(rows / MATMUL_ROWS), ceil(n / MATMUL_BATCH)), MATMUL_ROWS warps.
// Each lane takes every 32nd column, so a warp's loads of a row (and of each input) are contiguous.
template <typename Weights>
__device__ void matmul(Weights weights, const float* __restrict__ x, float* __restrict__ y, int rows, int cols, int n) {
    int warp = threadIdx.x / WARP;
    int lane = threadIdx.x % WARP;
    int row = blockIdx.x * MATMUL_ROWS + warp;
    int first = blockIdx.y * MATMUL_BATCH;
    if (row >= rows) {
        return;  // the whole warp: a row is one warp's
    }
    int count = min(MATMUL_BATCH, n - first);
    const float* inputs = x + (size_t) first * cols;
    float sums[MATMUL_BATCH];
#pragma unroll
    for (int b = 0; b < MATMUL_BATCH; b++) {
        sums[b] = 0.f;
    }
    // Unrolled so that each warp has several weight loads in flight (decode reads every weight once per token).
#pragma unroll 4
    for (int col = lane; col < cols; col += WARP) {
        float w = weights.get(row, cols, col);
#pragma unroll
        for (int b = 0; b < MATMUL_BATCH; b++) {
            if (b < count) {
                sums[b] = fmaf(w, inputs[(size_t) b * cols + col], sums[b]);
            }
        }
    }
#pragma unroll
    for (int b = 0; b < MATMUL_BATCH; b++) {
        float sum = warp_sum(sums[b]);
        if (b < count && lane == 0) {
            y[(size_t) (first + b) * rows + row] = sum;
        }
    }
}

extern "C" __global__ void matmul_f32(const float* w, const float* x, float* y, int rows, int cols, int n) {
    matmul(F32Weights{w}, x, y, rows, cols, n);
}
extern "C" __global__ void matmul_f16(const __half* w, const float* x, float* y, int rows, int cols, int n) {
    matmul(F16Weights{w}, x, y, rows, cols, n);
}
extern "C" __global__ void matmul_bf16(const unsigned short* w, const float* x, float* y, int rows, int cols, int n) {
    matmul(BF16Weights{w}, x, y, rows, cols, n);
}
extern "C" __global__ void matmul_q8_0(const uint8_t* w, const float* x, float* y, int rows, int cols, int n) {
    matmul(Q8_0Weights{w}, x, y, rows, cols, n);
}
extern "C" __global__ void matmul_q4_0(const uint8_t* w, const float* x, float* y, int rows, int cols, int n) {
    matmul(Q4_0Weights{w}, x, y, rows, cols, n);
}

// out[b] = x[b] / rms(x[b]) * weight. Grid: one block per row; blockDim a multiple of 32, at most 1024.
extern "C" __global__ void rms_norm(const float* __restrict__ x, const float* __restrict__ weight, float* __restrict__ out,
                                    int dim, float eps) {
    __shared__ float partial[WARP];
    const float* in = x + (size_t) blockIdx.x * dim;
    float* result = out + (size_t) blockIdx.x * dim;
    float squares = 0.f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        squares = fmaf(in[i], in[i], squares);
    }
    squares = warp_sum(squares);
    int warp = threadIdx.x / WARP;
    int lane = threadIdx.x % WARP;
    if (lane == 0) {
        partial[warp] = squares;
    }
    __syncthreads();
    if (warp == 0) {
        squares = lane < (int) (blockDim.x / WARP) ? partial[lane] : 0.f;
        squares = warp_sum(squares);
        if (lane == 0) {
            partial[0] = squares;
        }
    }
    __syncthreads();
    float inverse = 1.f / sqrtf(partial[0] / dim + eps);
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        result[i] = in[i] * inverse * weight[i];
    }
}

// llama.cpp's "normal" RoPE on q (heads) and k (kvHeads) of each token, adjacent pairs of the first 2 * pairs
// dimensions of every head, with the token's cos/sin table (rotation[b] = cos[pairs], sin[pairs], computed on the
// host exactly as the cpu backend does); then the token's K and V go into their cache slot.
// Grid: one block per token.
extern "C" __global__ void rope_and_store(float* q, float* k, const float* v, const float* rotation, const int* slots,
                                          float* key_cache, float* value_cache, int heads, int kv_heads, int head_dim,
                                          int pairs) {
    int b = blockIdx.x;
    int dim = heads * head_dim;
    int kv_dim = kv_heads * head_dim;
    const float* cos_sin = rotation + (size_t) b * 2 * pairs;
    for (int j = threadIdx.x; j < (heads + kv_heads) * pairs; j += blockDim.x) {
        int head = j / pairs;
        int i = j % pairs;
        float* vector = head < heads ? q + (size_t) b * dim + head * head_dim
                                     : k + (size_t) b * kv_dim + (head - heads) * head_dim;
        float cos = cos_sin[i];
        float sin = cos_sin[pairs + i];
        float x0 = vector[2 * i];
        float x1 = vector[2 * i + 1];
        vector[2 * i] = x0 * cos - x1 * sin;
        vector[2 * i + 1] = x0 * sin + x1 * cos;
    }
    __syncthreads();
    size_t slot = (size_t) slots[b] * kv_dim;
    for (int d = threadIdx.x; d < kv_dim; d += blockDim.x) {
        key_cache[slot + d] = k[(size_t) b * kv_dim + d];
        value_cache[slot + d] = v[(size_t) b * kv_dim + d];
    }
}

__device__ __forceinline__ size_t slot_of(const int* table, int position, int block_size) {
    return (size_t) table[position / block_size] * block_size + position % block_size;
}

// One online-softmax step of a warp over up to KEYS keys at once: every lane holds dims lane, lane + 32, ... of
// the query and the running output (LANE_DIMS of them). All KEYS rows are loaded before any is used, so a warp keeps
// 2 * KEYS loads in flight: decode attention is bound by how many bytes are in flight, not by arithmetic.
template <int LANE_DIMS, int KEYS>
__device__ __forceinline__ void attend(const float* const* keys, const float* const* values, int count,
                                       const float* query, float* output, float& max_score, float& denominator,
                                       int head_dim, float scale) {
    int lane = threadIdx.x % WARP;
    float k[KEYS][LANE_DIMS];
    float v[KEYS][LANE_DIMS];
#pragma unroll
    for (int j = 0; j < KEYS; j++) {
#pragma unroll
        for (int i = 0; i < LANE_DIMS; i++) {
            int d = lane + i * WARP;
            bool present = j < count && d < head_dim;
            k[j][i] = present ? keys[j][d] : 0.f;
            v[j][i] = present ? values[j][d] : 0.f;
        }
    }
    float scores[KEYS];
    float next_max = max_score;
#pragma unroll
    for (int j = 0; j < KEYS; j++) {
        float dot = 0.f;
#pragma unroll
        for (int i = 0; i < LANE_DIMS; i++) {
            dot = fmaf(query[i], k[j][i], dot);
        }
        scores[j] = warp_sum(dot) * scale;
        if (j < count) {
            next_max = fmaxf(next_max, scores[j]);
        }
    }
    float correction = expf(max_score - next_max);  // 0 on the first keys (max_score is -inf)
    denominator *= correction;
#pragma unroll
    for (int i = 0; i < LANE_DIMS; i++) {
        output[i] *= correction;
    }
#pragma unroll
    for (int j = 0; j < KEYS; j++) {
        if (j < count) {
            float weight = expf(scores[j] - next_max);
            denominator += weight;
#pragma unroll
            for (int i = 0; i < LANE_DIMS; i++) {
                output[i] = fmaf(weight, v[j][i], output[i]);
            }
        }
    }
    max_score = next_max;
}

// Keys a decode warp loads per step (see attend).
#define DECODE_KEYS 4

// Decode attention, split over the context (flash-decoding): block (i, head, part) attends query token
// tokens[i] over its positions [part * part_len, min(position + 1, (part + 1) * part_len)), ATTENTION_WARPS warps
// taking DECODE_KEYS consecutive keys in turn, and writes (max, denominator, unnormalized output) to
// partials[(i * heads + head) * parts + part]; attention_reduce combines the parts.
// Dynamic shared memory: ATTENTION_WARPS * (head_dim + 2) floats. LANE_DIMS * 32 >= head_dim.
template <int LANE_DIMS>
__device__ void attention_decode(const float* q, const float* key_cache, const float* value_cache,
                                 const int* tokens, const int* positions, const int* tables,
                                 const int* table_starts, float* partials, int heads, int kv_heads,
                                 int head_dim, int block_size, int part_len, float scale) {
    extern __shared__ float shared[];
    int i = blockIdx.x;
    int head = blockIdx.y;
    int part = blockIdx.z;
    int parts = gridDim.z;
    int b = tokens[i];
    int position = positions[b];
    int warp = threadIdx.x / WARP;
    int lane = threadIdx.x % WARP;
    int kv_dim = kv_heads * head_dim;
    float* partial = partials + ((size_t) (i * heads + head) * parts + part) * (head_dim + 2);
    int from = part * part_len;
    int to = min(position + 1, from + part_len);
    if (from >= to) {  // this token's context ends before this part
        if (threadIdx.x == 0) {
            partial[0] = -INFINITY;
            partial[1] = 0.f;
        }
        return;
    }
    const float* query_row = q + (size_t) b * heads * head_dim + head * head_dim;
    int kv_offset = head / (heads / kv_heads) * head_dim;
    const int* table = tables + table_starts[b];
    float query[LANE_DIMS];
    float output[LANE_DIMS];
#pragma unroll
    for (int j = 0; j < LANE_DIMS; j++) {
        int d = lane + j * WARP;
        query[j] = d < head_dim ? query_row[d] : 0.f;
        output[j] = 0.f;
    }
    float max_score = -INFINITY;
    float denominator = 0.f;
    const float* keys[DECODE_KEYS];
    const float* values[DECODE_KEYS];
    for (int t = from + warp * DECODE_KEYS; t < to; t += ATTENTION_WARPS * DECODE_KEYS) {
        int count = min(DECODE_KEYS, to - t);
#pragma unroll
        for (int j = 0; j < DECODE_KEYS; j++) {
            size_t slot = slot_of(table, min(t + j, to - 1), block_size) * kv_dim + kv_offset;
            keys[j] = key_cache + slot;
            values[j] = value_cache + slot;
        }
        attend<LANE_DIMS, DECODE_KEYS>(keys, values, count, query, output, max_score, denominator, head_dim, scale);
    }
    // Combine the warps: shared = [max, denominator] per warp, then each warp's output.
    float* warp_stats = shared;
    float* warp_outputs = shared + 2 * ATTENTION_WARPS;
    if (lane == 0) {
        warp_stats[2 * warp] = max_score;
        warp_stats[2 * warp + 1] = denominator;
    }
#pragma unroll
    for (int j = 0; j < LANE_DIMS; j++) {
        int d = lane + j * WARP;
        if (d < head_dim) {
            warp_outputs[warp * head_dim + d] = output[j];
        }
    }
    __syncthreads();
    float block_max = -INFINITY;
    for (int w = 0; w < ATTENTION_WARPS; w++) {
        block_max = fmaxf(block_max, warp_stats[2 * w]);
    }
    for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
        float sum = 0.f;
        for (int w = 0; w < ATTENTION_WARPS; w++) {
            if (warp_stats[2 * w + 1] > 0.f) {
                sum += warp_outputs[w * head_dim + d] * expf(warp_stats[2 * w] - block_max);
            }
        }
        partial[2 + d] = sum;
    }
    if (threadIdx.x == 0) {
        float block_denominator = 0.f;
        for (int w = 0; w < ATTENTION_WARPS; w++) {
            if (warp_stats[2 * w + 1] > 0.f) {
                block_denominator += warp_stats[2 * w + 1] * expf(warp_stats[2 * w] - block_max);
            }
        }
        partial[0] = block_max;
        partial[1] = block_denominator;
    }
}

// Combines attention_decode's parts of (tokens[i], head) into out[tokens[i]][head]. Grid: (count, heads).
extern "C" __global__ void attention_reduce(const float* partials, const int* tokens, float* out, int heads,
                                            int head_dim, int parts) {
    int i = blockIdx.x;
    int head = blockIdx.y;
    const float* first = partials + (size_t) (i * heads + head) * parts * (head_dim + 2);
    float max_score = -INFINITY;
    for (int p = 0; p < parts; p++) {
        if (first[p * (head_dim + 2) + 1] > 0.f) {
            max_score = fmaxf(max_score, first[p * (head_dim + 2)]);
        }
    }
    float denominator = 0.f;
    for (int p = 0; p < parts; p++) {
        const float* part = first + p * (head_dim + 2);
        if (part[1] > 0.f) {
            denominator += part[1] * expf(part[0] - max_score);
        }
    }
    float* result = out + (size_t) tokens[i] * heads * head_dim + head * head_dim;
    for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
        float sum = 0.f;
        for (int p = 0; p < parts; p++) {
            const float* part = first + p * (head_dim + 2);
            if (part[1] > 0.f) {
                sum += part[2 + d] * expf(part[0] - max_score);
            }
        }
        result[d] = sum / denominator;
    }
}

// Prefill attention: block (tile, head) attends up to PREFILL_QUERIES consecutive tokens of one sequence
// (batch rows tile_firsts[tile] .. + tile_counts[tile], positions ascending by one), one warp each, over their
// causal context; each tile of PREFILL_KEYS keys and values is read from the paged cache once into shared memory
// for all of them. Dynamic shared memory: 2 * PREFILL_KEYS * head_dim floats. blockDim: PREFILL_QUERIES warps.
template <int LANE_DIMS>
__device__ void attention_prefill(const float* q, const float* key_cache, const float* value_cache,
                                  const int* tile_firsts, const int* tile_counts, const int* positions,
                                  const int* tables, const int* table_starts, float* out, int heads,
                                  int kv_heads, int head_dim, int block_size, float scale) {
    extern __shared__ float shared[];
    float* keys = shared;
    float* values = shared + PREFILL_KEYS * head_dim;
    int first = tile_firsts[blockIdx.x];
    int count = tile_counts[blockIdx.x];
    int head = blockIdx.y;
    int warp = threadIdx.x / WARP;
    int lane = threadIdx.x % WARP;
    int kv_dim = kv_heads * head_dim;
    int kv_offset = head / (heads / kv_heads) * head_dim;
    const int* table = tables + table_starts[first];
    int last_position = positions[first + count - 1];
    bool active = warp < count;
    int position = active ? positions[first + warp] : -1;
    float query[LANE_DIMS];
    float output[LANE_DIMS];
    const float* query_row = q + (size_t) (first + (active ? warp : 0)) * heads * head_dim + head * head_dim;
#pragma unroll
    for (int j = 0; j < LANE_DIMS; j++) {
        int d = lane + j * WARP;
        query[j] = active && d < head_dim ? query_row[d] : 0.f;
        output[j] = 0.f;
    }
    float max_score = -INFINITY;
    float denominator = 0.f;
    for (int base = 0; base <= last_position; base += PREFILL_KEYS) {
        for (int e = threadIdx.x; e < PREFILL_KEYS * head_dim; e += blockDim.x) {
            int t = base + e / head_dim;
            if (t <= last_position) {
                size_t at = slot_of(table, t, block_size) * kv_dim + kv_offset + e % head_dim;
                keys[e] = key_cache[at];
                values[e] = value_cache[at];
            }
        }
        __syncthreads();
        if (active) {
            for (int j = 0; j < PREFILL_KEYS && base + j <= position; j += 4) {
                const float* tile_keys[4];
                const float* tile_values[4];
#pragma unroll
                for (int u = 0; u < 4; u++) {
                    int row = min(j + u, PREFILL_KEYS - 1);
                    tile_keys[u] = keys + row * head_dim;
                    tile_values[u] = values + row * head_dim;
                }
                int usable = min(4, min(PREFILL_KEYS - j, position - base - j + 1));
                attend<LANE_DIMS, 4>(tile_keys, tile_values, usable, query, output, max_score, denominator, head_dim, scale);
            }
        }
        __syncthreads();
    }
    if (active) {
        float* result = out + (size_t) (first + warp) * heads * head_dim + head * head_dim;
#pragma unroll
        for (int j = 0; j < LANE_DIMS; j++) {
            int d = lane + j * WARP;
            if (d < head_dim) {
                result[d] = output[j] / denominator;
            }
        }
    }
}

// One entry point per register budget: LANE_DIMS * 32 >= head_dim (64, 128, 256), chosen by the host.
#define ATTENTION_ENTRY_POINTS(LANE_DIMS, HEAD_DIM)                                                                  \
    extern "C" __global__ void attention_decode_##HEAD_DIM(                                                          \
            const float* q, const float* key_cache, const float* value_cache, const int* tokens,                    \
            const int* positions, const int* tables, const int* table_starts, float* partials, int heads,           \
            int kv_heads, int head_dim, int block_size, int part_len, float scale) {                                 \
        attention_decode<LANE_DIMS>(q, key_cache, value_cache, tokens, positions, tables, table_starts, partials,   \
                                    heads, kv_heads, head_dim, block_size, part_len, scale);                         \
    }                                                                                                                \
    extern "C" __global__ void attention_prefill_##HEAD_DIM(                                                         \
            const float* q, const float* key_cache, const float* value_cache, const int* tile_firsts,               \
            const int* tile_counts, const int* positions, const int* tables, const int* table_starts, float* out,   \
            int heads, int kv_heads, int head_dim, int block_size, float scale) {                                    \
        attention_prefill<LANE_DIMS>(q, key_cache, value_cache, tile_firsts, tile_counts, positions, tables,        \
                                     table_starts, out, heads, kv_heads, head_dim, block_size, scale);               \
    }
ATTENTION_ENTRY_POINTS(2, 64)
ATTENTION_ENTRY_POINTS(4, 128)
ATTENTION_ENTRY_POINTS(8, 256)

// gate = silu(gate) * up, as the cpu backend's SwiGLU.
extern "C" __global__ void swiglu(float* gate, const float* up, long long count) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < count; i += (long long) gridDim.x * blockDim.x) {
        float g = gate[i];
        gate[i] = g / (1.f + expf(-g)) * up[i];
    }
}

// x += y (the residual connections).
extern "C" __global__ void add_into(float* x, const float* y, long long count) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < count; i += (long long) gridDim.x * blockDim.x) {
        x[i] += y[i];
    }
}

// dst[i] = src[rows[i]], rows of dim floats (the tokens whose logits are wanted). Grid: one block per row.
extern "C" __global__ void gather_rows(const float* src, float* dst, const int* rows, int dim) {
    const float* from = src + (size_t) rows[blockIdx.x] * dim;
    float* to = dst + (size_t) blockIdx.x * dim;
    for (int d = threadIdx.x; d < dim; d += blockDim.x) {
        to[d] = from[d];
    }
}

// Whole KV blocks from one pool to another, every layer, K (blockIdx.z 0) and V (1): a swap between the device
// pool and the host tier (pinned host memory mapped into the device's address space) or a copy-on-write within
// a pool. Block i of the call copies src_blocks[i] to dst_blocks[i]; a block is block_floats floats per layer,
// layers lie src_layer_floats / dst_layer_floats apart. Grid: (count, layers, 2).
extern "C" __global__ void copy_blocks(const float* src_keys, const float* src_values, float* dst_keys, float* dst_values,
                                       const int* src_blocks, const int* dst_blocks, long long block_floats,
                                       long long src_layer_floats, long long dst_layer_floats) {
    const float* src = (blockIdx.z == 0 ? src_keys : src_values) + blockIdx.y * src_layer_floats
            + src_blocks[blockIdx.x] * block_floats;
    float* dst = (blockIdx.z == 0 ? dst_keys : dst_values) + blockIdx.y * dst_layer_floats
            + dst_blocks[blockIdx.x] * block_floats;
    for (long long i = threadIdx.x; i < block_floats; i += blockDim.x) {
        dst[i] = src[i];
    }
}
