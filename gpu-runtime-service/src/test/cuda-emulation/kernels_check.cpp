// Runs every kernel of kvmesh.cu on emulated threads (cuda_emulation.h) with CudaBackend's launch shapes, on random
// inputs with fixed seeds, and compares with naive references computed in double precision. One line per check;
// exits 1 when any check fails. Built and run by run.sh.
//
// Tolerance: max |kernel - reference| <= 1e-4 * (1 + max |reference|) for arithmetic; copies must be exact. Every
// buffer has NaN guards on both sides (a kernel reading past an input poisons its result, one writing past an
// output breaks a guard), and outputs start as NaN or a sentinel, so a missed or stray write shows.
#include "cuda_emulation.h"

#include "kvmesh.cu"

#include <signal.h>

#include <chrono>
#include <cstdarg>

namespace {

constexpr double RELATIVE_TOLERANCE = 1e-4;
constexpr size_t GUARD = 64;

int failures = 0;
int checks = 0;
const char* current_check = "setup";

// A kernel that indexes far outside its buffers crashes the program: say which check it was.
void on_crash(int signal) {
    const char* what = signal == SIGSEGV ? "segmentation fault" : signal == SIGBUS ? "bus error" : "abort";
    char line[400];
    int length = snprintf(line, sizeof line, "FAIL %s: %s (an access far outside a buffer?)\n", current_check, what);
    if (write(STDOUT_FILENO, line, length) < 0) {
        // nothing more to do
    }
    _exit(3);
}

float quiet_nan() {
    return std::numeric_limits<float>::quiet_NaN();
}

// A device buffer stand-in: n elements between guards of a poison value.
template <typename T>
struct Buffer {
    std::vector<T> storage;
    size_t n;
    T poison;

    Buffer(size_t n_, T poison_, T fill) : storage(n_ + 2 * GUARD, poison_), n(n_), poison(poison_) {
        std::fill(data(), data() + n, fill);
    }
    explicit Buffer(const std::vector<T>& values, T poison_) : Buffer(values.size(), poison_, T{}) {
        std::copy(values.begin(), values.end(), data());
    }
    T* data() { return storage.data() + GUARD; }
    const T* data() const { return storage.data() + GUARD; }
    T& operator[](size_t i) { return storage[GUARD + i]; }
    std::vector<T> values() const { return std::vector<T>(storage.begin() + GUARD, storage.begin() + GUARD + n); }
    bool guards_intact() const {
        for (size_t i = 0; i < GUARD; i++) {
            if (memcmp(&storage[i], &poison, sizeof(T)) != 0 || memcmp(&storage[GUARD + n + i], &poison, sizeof(T)) != 0) {
                return false;
            }
        }
        return true;
    }
};

Buffer<float> floats(const std::vector<float>& values) {
    return Buffer<float>(values, quiet_nan());
}

Buffer<int> ints(const std::vector<int>& values) {
    return Buffer<int>(values, 0x3fffffff);  // an index this large faults or reads garbage far away
}

struct Check {
    std::string name;
    double max_error = 0;
    double max_reference = 0;
    bool exact = false;
    std::vector<std::string> problems;

    explicit Check(std::string name_, bool exact_ = false) : name(std::move(name_)), exact(exact_) {
        current_check = name.c_str();
    }

    // got[0 .. count) against reference[from .. from + count).
    void compare(const float* got, const std::vector<double>& reference, size_t from, size_t count) {
        for (size_t i = 0; i < count; i++) {
            max_reference = std::max(max_reference, std::fabs(reference[from + i]));
            double error = std::fabs((double) got[i] - reference[from + i]);
            if (!(error <= max_error)) {  // NaN counts as infinitely wrong
                max_error = std::isnan(error) ? INFINITY : error;
            }
        }
    }
    void compare(const std::vector<float>& got, const std::vector<double>& reference) {
        if (got.size() != reference.size()) {
            problem("size mismatch");
            return;
        }
        compare(got.data(), reference, 0, got.size());
    }
    void problem(const std::string& what) { problems.push_back(what); }
    void launched(const std::string& error) {
        if (!error.empty()) {
            problem("launch: " + error);
        }
    }
    template <typename T>
    void guards(const Buffer<T>& buffer, const char* what) {
        if (!buffer.guards_intact()) {
            problem(std::string("wrote outside ") + what);
        }
    }
    ~Check() {
        double tolerance = exact ? 0 : RELATIVE_TOLERANCE * (1 + max_reference);
        bool pass = max_error <= tolerance && problems.empty();
        checks++;
        failures += !pass;
        printf("%-4s %-62s max error %.3e (tolerance %.3e, max |ref| %.3g)", pass ? "PASS" : "FAIL", name.c_str(),
               max_error, tolerance, max_reference);
        for (const std::string& p : problems) {
            printf("; %s", p.c_str());
        }
        printf("\n");
        fflush(stdout);
        current_check = "between checks";
    }
};

std::string format(const char* pattern, ...) {
    char text[256];
    va_list args;
    va_start(args, pattern);
    vsnprintf(text, sizeof text, pattern, args);
    va_end(args);
    return text;
}

std::vector<float> uniform(std::mt19937& random, size_t n, float low, float high) {
    std::uniform_real_distribution<float> distribution(low, high);
    std::vector<float> out(n);
    for (float& x : out) {
        x = distribution(random);
    }
    return out;
}

// ---- reference decodings of the storage types, written independently of the emulation header ----

double half_value(uint16_t bits) {
    int sign = bits >> 15 ? -1 : 1;
    int exponent = (bits >> 10) & 31;
    int mantissa = bits & 1023;
    if (exponent == 0) {
        return sign * std::ldexp((double) mantissa, -24);
    }
    return sign * std::ldexp(1024.0 + mantissa, exponent - 25);  // exponent 31 is never generated
}

double bf16_value(uint16_t bits) {
    int sign = bits >> 15 ? -1 : 1;
    int exponent = (bits >> 7) & 255;
    int mantissa = bits & 127;
    return sign * std::ldexp(128.0 + mantissa, exponent - 134);  // exponents 0 and 255 are never generated
}

// A random finite half, subnormals included (exponent 0), magnitudes below 4.
uint16_t random_half(std::mt19937& random, int min_exponent, int max_exponent) {
    uint32_t r = random();
    int exponent = min_exponent + (int) (r % (uint32_t) (max_exponent - min_exponent + 1));
    return (uint16_t) (((r >> 8) & 1) << 15 | exponent << 10 | ((r >> 9) & 1023));
}

// ---- matmul ----

enum class Type { F32, F16, BF16, Q8_0, Q4_0 };

struct Matrix {
    Type type;
    int rows, cols;
    std::vector<uint8_t> bytes;
    std::vector<double> values;  // dequantized, row-major
};

Matrix random_matrix(std::mt19937& random, Type type, int rows, int cols) {
    Matrix m{type, rows, cols, {}, std::vector<double>((size_t) rows * cols)};
    size_t count = (size_t) rows * cols;
    auto put16 = [&](uint16_t bits) {
        m.bytes.push_back(bits & 255);
        m.bytes.push_back(bits >> 8);
    };
    switch (type) {
        case Type::F32: {
            std::vector<float> w = uniform(random, count, -1, 1);
            m.bytes.resize(count * 4);
            memcpy(m.bytes.data(), w.data(), count * 4);
            for (size_t i = 0; i < count; i++) {
                m.values[i] = w[i];
            }
            break;
        }
        case Type::F16:
            for (size_t i = 0; i < count; i++) {
                uint16_t bits = random_half(random, 0, 16);
                put16(bits);
                m.values[i] = half_value(bits);
            }
            break;
        case Type::BF16:
            for (size_t i = 0; i < count; i++) {
                uint32_t r = random();
                uint16_t bits = (uint16_t) ((r & 1) << 15 | (118 + (r >> 1) % 12) << 7 | ((r >> 8) & 127));
                put16(bits);
                m.values[i] = bf16_value(bits);
            }
            break;
        case Type::Q8_0:
        case Type::Q4_0: {
            bool q8 = type == Type::Q8_0;
            for (size_t block = 0; block < count / 32; block++) {
                // Every fifth block has a subnormal scale.
                uint16_t scale_bits = random_half(random, block % 5 == 3 ? 0 : 8, block % 5 == 3 ? 0 : 14);
                double scale = half_value(scale_bits);
                put16(scale_bits);
                if (q8) {
                    for (int i = 0; i < 32; i++) {
                        int8_t q = (int8_t) (random() & 255);
                        m.bytes.push_back((uint8_t) q);
                        m.values[block * 32 + i] = scale * q;
                    }
                } else {
                    for (int i = 0; i < 16; i++) {
                        uint8_t packed = (uint8_t) (random() & 255);
                        m.bytes.push_back(packed);
                        m.values[block * 32 + i] = scale * ((packed & 15) - 8);
                        m.values[block * 32 + 16 + i] = scale * ((packed >> 4) - 8);
                    }
                }
            }
            break;
        }
    }
    return m;
}

const char* type_name(Type type) {
    switch (type) {
        case Type::F32: return "matmul_f32";
        case Type::F16: return "matmul_f16";
        case Type::BF16: return "matmul_bf16";
        case Type::Q8_0: return "matmul_q8_0";
        default: return "matmul_q4_0";
    }
}

void check_matmul(std::mt19937& random) {
    const int rows = 37;
    for (Type type : {Type::F32, Type::F16, Type::BF16, Type::Q8_0, Type::Q4_0}) {
        bool quantized = type == Type::Q8_0 || type == Type::Q4_0;
        for (int cols : {96, 70}) {
            if (quantized && cols % 32 != 0) {
                continue;  // GGUF rows of quantized types are whole blocks
            }
            Matrix m = random_matrix(random, type, rows, cols);
            Buffer<uint8_t> w(m.bytes, 0xff);
            for (int n : {1, 5, 13}) {
                Check check(format("%s rows=%d cols=%d n=%d", type_name(type), rows, cols, n));
                Buffer<float> x = floats(uniform(random, (size_t) n * cols, -1, 1));
                Buffer<float> y((size_t) n * rows, quiet_nan(), quiet_nan());
                dim3 grid((rows + MATMUL_ROWS - 1) / MATMUL_ROWS, (n + MATMUL_BATCH - 1) / MATMUL_BATCH);
                dim3 block(MATMUL_ROWS * 32);
                std::string error;
                switch (type) {
                    case Type::F32:
                        error = launch(matmul_f32, grid, block, 0, (const float*) (const void*) w.data(), x.data(), y.data(), rows, cols, n);
                        break;
                    case Type::F16:
                        error = launch(matmul_f16, grid, block, 0, (const __half*) (const void*) w.data(), x.data(), y.data(), rows, cols, n);
                        break;
                    case Type::BF16:
                        error = launch(matmul_bf16, grid, block, 0, (const unsigned short*) (const void*) w.data(), x.data(), y.data(), rows, cols, n);
                        break;
                    case Type::Q8_0:
                        error = launch(matmul_q8_0, grid, block, 0, (const uint8_t*) w.data(), x.data(), y.data(), rows, cols, n);
                        break;
                    case Type::Q4_0:
                        error = launch(matmul_q4_0, grid, block, 0, (const uint8_t*) w.data(), x.data(), y.data(), rows, cols, n);
                        break;
                }
                check.launched(error);
                std::vector<double> reference((size_t) n * rows);
                for (int b = 0; b < n; b++) {
                    for (int r = 0; r < rows; r++) {
                        double sum = 0;
                        for (int c = 0; c < cols; c++) {
                            sum += m.values[(size_t) r * cols + c] * x[(size_t) b * cols + c];
                        }
                        reference[(size_t) b * rows + r] = sum;
                    }
                }
                check.compare(y.values(), reference);
                check.guards(y, "y");
            }
        }
    }
}

// ---- rms_norm ----

void check_rms_norm(std::mt19937& random) {
    const int rows = 3;
    const float eps = 1e-5f;
    for (int dim : {64, 300, 2055}) {
        Check check(format("rms_norm rows=%d dim=%d", rows, dim));
        std::vector<float> input = uniform(random, (size_t) rows * dim, -3, 3);
        std::fill(input.begin() + dim, input.begin() + 2 * dim, 0.f);  // a zero row: only eps keeps it finite
        Buffer<float> x = floats(input);
        Buffer<float> weight = floats(uniform(random, dim, -2, 2));
        Buffer<float> out((size_t) rows * dim, quiet_nan(), quiet_nan());
        check.launched(launch(rms_norm, dim3(rows), dim3(256), 0, x.data(), weight.data(), out.data(), dim, eps));
        std::vector<double> reference((size_t) rows * dim);
        for (int r = 0; r < rows; r++) {
            double squares = 0;
            for (int i = 0; i < dim; i++) {
                squares += (double) x[(size_t) r * dim + i] * x[(size_t) r * dim + i];
            }
            double inverse = 1 / std::sqrt(squares / dim + eps);
            for (int i = 0; i < dim; i++) {
                reference[(size_t) r * dim + i] = x[(size_t) r * dim + i] * inverse * weight[i];
            }
        }
        check.compare(out.values(), reference);
        check.guards(out, "out");
    }
}

// ---- rope_and_store ----

void check_rope_and_store(std::mt19937& random) {
    struct Shape {
        int heads, kv_heads, head_dim, pairs;
    };
    const int n = 5;
    const int cache_slots = 40;
    for (Shape s : {Shape{4, 2, 16, 8}, Shape{4, 2, 80, 40}, Shape{4, 1, 128, 32}}) {
        Check check(format("rope_and_store heads=%d kvHeads=%d headDim=%d pairs=%d n=%d", s.heads, s.kv_heads,
                           s.head_dim, s.pairs, n));
        int dim = s.heads * s.head_dim;
        int kv_dim = s.kv_heads * s.head_dim;
        Buffer<float> q = floats(uniform(random, (size_t) n * dim, -1, 1));
        Buffer<float> k = floats(uniform(random, (size_t) n * kv_dim, -1, 1));
        Buffer<float> v = floats(uniform(random, (size_t) n * kv_dim, -1, 1));
        std::vector<float> angles = uniform(random, (size_t) n * s.pairs, -3.2f, 3.2f);
        std::vector<float> table((size_t) n * 2 * s.pairs);
        for (int b = 0; b < n; b++) {
            for (int i = 0; i < s.pairs; i++) {
                table[(size_t) b * 2 * s.pairs + i] = std::cos(angles[(size_t) b * s.pairs + i]);
                table[(size_t) b * 2 * s.pairs + s.pairs + i] = std::sin(angles[(size_t) b * s.pairs + i]);
            }
        }
        Buffer<float> rotation = floats(table);
        std::vector<int> slot_ids(cache_slots);
        for (int i = 0; i < cache_slots; i++) {
            slot_ids[i] = i;
        }
        std::shuffle(slot_ids.begin(), slot_ids.end(), random);
        slot_ids.resize(n);
        Buffer<int> slots = ints(slot_ids);
        Buffer<float> keys = floats(uniform(random, (size_t) cache_slots * kv_dim, -1, 1));
        Buffer<float> values = floats(uniform(random, (size_t) cache_slots * kv_dim, -1, 1));

        // The reference: rotate copies, then place K and V.
        auto rotate = [&](std::vector<double>& vector, int b, int heads, int head_dim) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < s.pairs; i++) {
                    double c = table[(size_t) b * 2 * s.pairs + i];
                    double sn = table[(size_t) b * 2 * s.pairs + s.pairs + i];
                    size_t at = (size_t) b * heads * head_dim + h * head_dim + 2 * i;
                    double x0 = vector[at];
                    double x1 = vector[at + 1];
                    vector[at] = x0 * c - x1 * sn;
                    vector[at + 1] = x0 * sn + x1 * c;
                }
            }
        };
        std::vector<double> q_ref(q.storage.begin() + GUARD, q.storage.begin() + GUARD + q.n);
        std::vector<double> k_ref(k.storage.begin() + GUARD, k.storage.begin() + GUARD + k.n);
        std::vector<double> keys_ref(keys.storage.begin() + GUARD, keys.storage.begin() + GUARD + keys.n);
        std::vector<double> values_ref(values.storage.begin() + GUARD, values.storage.begin() + GUARD + values.n);
        std::vector<double> v_ref(v.storage.begin() + GUARD, v.storage.begin() + GUARD + v.n);
        for (int b = 0; b < n; b++) {
            rotate(q_ref, b, s.heads, s.head_dim);
            rotate(k_ref, b, s.kv_heads, s.head_dim);
            for (int d = 0; d < kv_dim; d++) {
                keys_ref[(size_t) slot_ids[b] * kv_dim + d] = k_ref[(size_t) b * kv_dim + d];
                values_ref[(size_t) slot_ids[b] * kv_dim + d] = v_ref[(size_t) b * kv_dim + d];
            }
        }
        check.launched(launch(rope_and_store, dim3(n), dim3(128), 0, q.data(), k.data(), v.data(), rotation.data(),
                              slots.data(), keys.data(), values.data(), s.heads, s.kv_heads, s.head_dim, s.pairs));
        check.compare(q.values(), q_ref);
        check.compare(k.values(), k_ref);
        check.compare(v.values(), v_ref);
        check.compare(keys.values(), keys_ref);
        check.compare(values.values(), values_ref);
        check.guards(q, "q");
        check.guards(k, "k");
        check.guards(keys, "key cache");
        check.guards(values, "value cache");
    }
}

// ---- attention over a paged cache ----

using AttentionDecode = void (*)(const float*, const float*, const float*, const int*, const int*, const int*,
                                 const int*, float*, int, int, int, int, int, float);
using AttentionPrefill = void (*)(const float*, const float*, const float*, const int*, const int*, const int*,
                                  const int*, const int*, float*, int, int, int, int, float);

struct PagedCache {
    int heads, kv_heads, head_dim, block_size;
    int kv_dim;
    std::vector<int> lengths;           // per sequence: positions 0 .. length - 1 are in the cache
    std::vector<std::vector<int>> tables;
    std::vector<int> flat_tables;
    std::vector<int> table_starts;      // per sequence, into flat_tables
    Buffer<float> keys{0, 0.f, 0.f};
    Buffer<float> values{0, 0.f, 0.f};

    size_t slot(int sequence, int position) const {
        return (size_t) tables[sequence][position / block_size] * block_size + position % block_size;
    }
};

// Sequences of the given lengths on scattered blocks of a pool of pool_blocks; slots no sequence holds (and the tail
// of each last block) are NaN, so reading one poisons the result. Sequence 1's keys every 97 positions are 40 times
// larger: scores of +-100 and more, which overflow expf unless the running maximum is subtracted.
PagedCache paged_cache(std::mt19937& random, int heads, int kv_heads, int head_dim, const std::vector<int>& lengths,
                       int pool_blocks) {
    PagedCache cache;
    cache.heads = heads;
    cache.kv_heads = kv_heads;
    cache.head_dim = head_dim;
    cache.block_size = 16;
    cache.kv_dim = kv_heads * head_dim;
    cache.lengths = lengths;
    std::vector<int> free_blocks(pool_blocks);
    for (int i = 0; i < pool_blocks; i++) {
        free_blocks[i] = i;
    }
    std::shuffle(free_blocks.begin(), free_blocks.end(), random);
    size_t used = 0;
    for (int length : lengths) {
        int blocks = (length + cache.block_size - 1) / cache.block_size;
        cache.table_starts.push_back((int) cache.flat_tables.size());
        std::vector<int> table(free_blocks.begin() + used, free_blocks.begin() + used + blocks);
        used += blocks;
        cache.tables.push_back(table);
        cache.flat_tables.insert(cache.flat_tables.end(), table.begin(), table.end());
    }
    if (used > free_blocks.size()) {
        fprintf(stderr, "pool too small\n");
        std::exit(2);
    }
    size_t floats_total = (size_t) pool_blocks * cache.block_size * cache.kv_dim;
    cache.keys = Buffer<float>(floats_total, quiet_nan(), quiet_nan());
    cache.values = Buffer<float>(floats_total, quiet_nan(), quiet_nan());
    std::uniform_real_distribution<float> unit(-1, 1);
    for (size_t s = 0; s < lengths.size(); s++) {
        for (int t = 0; t < lengths[s]; t++) {
            size_t at = cache.slot((int) s, t) * cache.kv_dim;
            float spike = s == 1 && t % 97 == 42 ? 40.f : 1.f;
            for (int d = 0; d < cache.kv_dim; d++) {
                cache.keys[at + d] = unit(random) * spike;
                cache.values[at + d] = unit(random);
            }
        }
    }
    return cache;
}

// Causal softmax attention of one query row (heads * head_dim floats) of sequence s at position, into out.
void reference_attention(const PagedCache& cache, const float* query, int sequence, int position, float scale,
                         double* out) {
    int group = cache.heads / cache.kv_heads;
    std::vector<double> scores(position + 1);
    for (int h = 0; h < cache.heads; h++) {
        int kv_offset = h / group * cache.head_dim;
        double max_score = -INFINITY;
        for (int t = 0; t <= position; t++) {
            const float* key = cache.keys.data() + cache.slot(sequence, t) * cache.kv_dim + kv_offset;
            double dot = 0;
            for (int d = 0; d < cache.head_dim; d++) {
                dot += (double) query[h * cache.head_dim + d] * key[d];
            }
            scores[t] = dot * scale;
            max_score = std::max(max_score, scores[t]);
        }
        double denominator = 0;
        for (int t = 0; t <= position; t++) {
            scores[t] = std::exp(scores[t] - max_score);
            denominator += scores[t];
        }
        for (int d = 0; d < cache.head_dim; d++) {
            double sum = 0;
            for (int t = 0; t <= position; t++) {
                const float* value = cache.values.data() + cache.slot(sequence, t) * cache.kv_dim + kv_offset;
                sum += scores[t] * value[d];
            }
            out[h * cache.head_dim + d] = sum / denominator;
        }
    }
}

void attention_entry_points(int head_dim, AttentionDecode& decode, AttentionPrefill& prefill, int& bound) {
    if (head_dim <= 64) {
        decode = attention_decode_64, prefill = attention_prefill_64, bound = 64;
    } else if (head_dim <= 128) {
        decode = attention_decode_128, prefill = attention_prefill_128, bound = 128;
    } else {
        decode = attention_decode_256, prefill = attention_prefill_256, bound = 256;
    }
}

void check_attention(std::mt19937& random, int head_dim) {
    const int heads = 4;
    const int kv_heads = 2;
    // Sequences: 13 tokens, 600 (with the large keys), 259, 1.
    PagedCache cache = paged_cache(random, heads, kv_heads, head_dim, {13, 600, 259, 1}, 96);
    AttentionDecode decode;
    AttentionPrefill prefill;
    int bound;
    attention_entry_points(head_dim, decode, prefill, bound);
    float scale = (float) (1.0 / std::sqrt((double) head_dim));
    int row_floats = heads * head_dim;
    const float sentinel = 12345.f;

    // Decode: batch rows 1, 2, 4, 5 are the last tokens of sequences 1, 0, 2, 3; rows 0 and 3 belong to other work
    // of the batch (their outputs must stay as they are).
    {
        struct Row {
            int sequence, position;
        };
        std::vector<Row> rows = {{0, 4}, {1, 599}, {0, 12}, {2, 100}, {2, 258}, {3, 0}};
        std::vector<int> decode_rows = {1, 2, 4, 5};
        std::vector<int> positions_of, starts_of;
        int longest = 0;
        for (Row r : rows) {
            positions_of.push_back(r.position);
            starts_of.push_back(cache.table_starts[r.sequence]);
        }
        for (int b : decode_rows) {
            longest = std::max(longest, rows[b].position + 1);
        }
        Buffer<float> q = floats(uniform(random, rows.size() * row_floats, -3, 3));
        Buffer<int> tokens = ints(decode_rows);
        Buffer<int> positions = ints(positions_of);
        Buffer<int> starts = ints(starts_of);
        Buffer<int> tables = ints(cache.flat_tables);
        std::vector<double> reference(rows.size() * row_floats, sentinel);
        for (int b : decode_rows) {
            reference_attention(cache, q.data() + (size_t) b * row_floats, rows[b].sequence, rows[b].position, scale,
                                reference.data() + (size_t) b * row_floats);
        }
        for (int parts : {1, 3, 7}) {
            int part_len = (longest + parts - 1) / parts;
            Check check(format("attention_decode_%d+attention_reduce headDim=%d parts=%d partLen=%d", bound, head_dim,
                               parts, part_len));
            int count = (int) decode_rows.size();
            Buffer<float> partials((size_t) count * heads * parts * (head_dim + 2), quiet_nan(), quiet_nan());
            Buffer<float> out(rows.size() * row_floats, quiet_nan(), sentinel);
            check.launched(launch(decode, dim3(count, heads, parts), dim3(ATTENTION_WARPS * 32),
                                  (2 * ATTENTION_WARPS + ATTENTION_WARPS * head_dim) * sizeof(float), q.data(),
                                  cache.keys.data(), cache.values.data(), tokens.data(), positions.data(),
                                  tables.data(), starts.data(), partials.data(), heads, kv_heads, head_dim,
                                  cache.block_size, part_len, scale));
            check.launched(launch(attention_reduce, dim3(count, heads), dim3(128), 0, partials.data(), tokens.data(),
                                  out.data(), heads, head_dim, parts));
            std::vector<float> got = out.values();
            for (size_t b = 0; b < rows.size(); b++) {
                if (std::find(decode_rows.begin(), decode_rows.end(), (int) b) != decode_rows.end()) {
                    check.compare(got.data() + b * row_floats, reference, b * row_floats, row_floats);
                } else if (!std::all_of(got.begin() + b * row_floats, got.begin() + (b + 1) * row_floats,
                                        [&](float x) { return x == sentinel; })) {
                    check.problem("wrote row " + std::to_string(b) + ", not a decode token");
                }
            }
            check.guards(partials, "partials");
            check.guards(out, "out");
        }
    }

    // Prefill: runs of consecutive positions of sequences 0 (0..12), 1 (590..599) and 2 (250..258), in tiles of up to
    // PREFILL_QUERIES as CudaBackend makes them: (0,8) (8,5) | (13,8) (21,2) | (23,8) (31,1).
    {
        struct Run {
            int sequence, from, to;  // positions [from, to]
        };
        std::vector<Run> runs = {{0, 0, 12}, {1, 590, 599}, {2, 250, 258}};
        std::vector<int> row_sequence, positions_of, starts_of, firsts, counts;
        for (Run run : runs) {
            int first_row = (int) positions_of.size();
            for (int p = run.from; p <= run.to; p++) {
                row_sequence.push_back(run.sequence);
                positions_of.push_back(p);
                starts_of.push_back(cache.table_starts[run.sequence]);
            }
            int length = run.to - run.from + 1;
            for (int s = 0; s < length; s += PREFILL_QUERIES) {
                firsts.push_back(first_row + s);
                counts.push_back(std::min(PREFILL_QUERIES, length - s));
            }
        }
        size_t n = positions_of.size();
        Check check(format("attention_prefill_%d headDim=%d tiles=%zu rows=%zu", bound, head_dim, firsts.size(), n));
        Buffer<float> q = floats(uniform(random, n * row_floats, -3, 3));
        Buffer<int> tile_firsts = ints(firsts);
        Buffer<int> tile_counts = ints(counts);
        Buffer<int> positions = ints(positions_of);
        Buffer<int> starts = ints(starts_of);
        Buffer<int> tables = ints(cache.flat_tables);
        Buffer<float> out(n * row_floats, quiet_nan(), quiet_nan());
        check.launched(launch(prefill, dim3((unsigned) firsts.size(), heads), dim3(PREFILL_QUERIES * 32),
                              2 * PREFILL_KEYS * head_dim * sizeof(float), q.data(), cache.keys.data(),
                              cache.values.data(), tile_firsts.data(), tile_counts.data(), positions.data(),
                              tables.data(), starts.data(), out.data(), heads, kv_heads, head_dim, cache.block_size,
                              scale));
        std::vector<double> reference(n * row_floats);
        for (size_t b = 0; b < n; b++) {
            reference_attention(cache, q.data() + b * row_floats, row_sequence[b], positions_of[b], scale,
                                reference.data() + b * row_floats);
        }
        check.compare(out.values(), reference);
        check.guards(out, "out");
    }
    if (!cache.keys.guards_intact() || !cache.values.guards_intact()) {
        Check check(format("attention headDim=%d caches", head_dim));
        check.problem("the K/V caches' guards were written");
    }
}

// ---- elementwise kernels, gather_rows, copy_blocks ----

unsigned int elementwise_grid(long long count) {
    return (unsigned int) std::min<long long>(4096, (count + 255) / 256);
}

void check_elementwise(std::mt19937& random) {
    for (long long count : {1000LL, 4096LL * 256 + 777}) {
        std::vector<float> g = uniform(random, count, -8, 8);
        g[0] = -100.f;  // expf(100) overflows: silu must still be -0
        g[1] = 100.f;
        std::vector<float> u = uniform(random, count, -2, 2);
        {
            Check check(format("swiglu count=%lld grid=%u", count, elementwise_grid(count)));
            Buffer<float> gate = floats(g);
            Buffer<float> up = floats(u);
            check.launched(launch(swiglu, dim3(elementwise_grid(count)), dim3(256), 0, gate.data(), up.data(), count));
            std::vector<double> reference(count);
            for (long long i = 0; i < count; i++) {
                reference[i] = g[i] / (1 + std::exp(-(double) g[i])) * u[i];
            }
            check.compare(gate.values(), reference);
            check.guards(gate, "gate");
        }
        {
            Check check(format("add_into count=%lld grid=%u", count, elementwise_grid(count)), true);
            Buffer<float> x = floats(g);
            Buffer<float> y = floats(u);
            check.launched(launch(add_into, dim3(elementwise_grid(count)), dim3(256), 0, x.data(), y.data(), count));
            std::vector<double> reference(count);
            for (long long i = 0; i < count; i++) {
                reference[i] = g[i] + u[i];  // one float addition: exact in double, then the kernel must round it
                reference[i] = (float) reference[i];
            }
            check.compare(x.values(), reference);
            check.guards(x, "x");
        }
    }
}

void check_gather_rows(std::mt19937& random) {
    const int dim = 300;
    std::vector<int> rows_of = {7, 0, 3, 3, 9};
    Check check(format("gather_rows rows=%zu dim=%d", rows_of.size(), dim), true);
    Buffer<float> src = floats(uniform(random, 10 * dim, -1, 1));
    Buffer<float> dst(rows_of.size() * dim, quiet_nan(), quiet_nan());
    Buffer<int> rows = ints(rows_of);
    check.launched(launch(gather_rows, dim3((unsigned) rows_of.size()), dim3(256), 0, src.data(), dst.data(), rows.data(), dim));
    std::vector<double> reference;
    for (int r : rows_of) {
        for (int d = 0; d < dim; d++) {
            reference.push_back(src[(size_t) r * dim + d]);
        }
    }
    check.compare(dst.values(), reference);
    check.guards(dst, "dst");
}

void check_copy_blocks(std::mt19937& random) {
    const int layers = 3;
    const int block_size = 16;
    const int kv_dim = 24;
    const long long block_floats = (long long) block_size * kv_dim;
    struct Pool {
        int blocks;
        Buffer<float> keys, values;
        Pool(std::mt19937& random, int blocks_)
            : blocks(blocks_), keys(floats(uniform(random, (size_t) layers * blocks_ * block_floats, -1, 1))),
              values(floats(uniform(random, (size_t) layers * blocks_ * block_floats, -1, 1))) {}
        long long layer_floats() const { return blocks * block_floats; }
    };
    Pool device(random, 10);
    Pool host(random, 7);
    struct Copy {
        const char* what;
        Pool& from;
        Pool& to;
        std::vector<int> src, dst;
    };
    std::vector<Copy> copies = {
            {"10-block pool -> 7-block pool", device, host, {9, 0, 4}, {6, 2, 0}},
            {"7-block pool -> 10-block pool", host, device, {1, 6}, {3, 8}},
            {"within the 10-block pool", device, device, {2, 5}, {7, 1}},
    };
    for (Copy& copy : copies) {
        Check check(format("copy_blocks %s layers=%d blocks=%zu", copy.what, layers, copy.src.size()), true);
        std::vector<float> expected_keys = copy.to.keys.values();
        std::vector<float> expected_values = copy.to.values.values();
        std::vector<float> source_keys = copy.from.keys.values();
        std::vector<float> source_values = copy.from.values.values();
        for (size_t i = 0; i < copy.src.size(); i++) {
            for (int l = 0; l < layers; l++) {
                for (long long f = 0; f < block_floats; f++) {
                    size_t from = l * copy.from.layer_floats() + copy.src[i] * block_floats + f;
                    size_t to = l * copy.to.layer_floats() + copy.dst[i] * block_floats + f;
                    expected_keys[to] = source_keys[from];
                    expected_values[to] = source_values[from];
                }
            }
        }
        Buffer<int> src = ints(copy.src);
        Buffer<int> dst = ints(copy.dst);
        check.launched(launch(copy_blocks, dim3((unsigned) copy.src.size(), layers, 2), dim3(256), 0,
                              copy.from.keys.data(), copy.from.values.data(), copy.to.keys.data(),
                              copy.to.values.data(), src.data(), dst.data(), block_floats,
                              copy.from.layer_floats(), copy.to.layer_floats()));
        auto as_double = [](const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); };
        check.compare(copy.to.keys.values(), as_double(expected_keys));
        check.compare(copy.to.values.values(), as_double(expected_values));
        if (&copy.from != &copy.to) {
            check.compare(copy.from.keys.values(), as_double(source_keys));
            check.compare(copy.from.values.values(), as_double(source_values));
        }
        check.guards(copy.to.keys, "destination keys");
        check.guards(copy.to.values, "destination values");
    }
}

// The emulation itself: a kernel whose barrier some threads skip must be reported, not pass.
__global__ void divergent_barrier(int* out) {
    if (threadIdx.x < 64) {
        __syncthreads();
    }
    out[threadIdx.x] = 1;
}

__global__ void racy_shared(int* out) {
    __shared__ int value[256];
    value[threadIdx.x] = threadIdx.x + 1;
    // Missing __syncthreads: whichever thread runs first reads its neighbour's value before it is written.
    out[threadIdx.x] = value[(threadIdx.x + 1) % 256];
}

void check_emulation() {
    {
        Check check("emulation: a divergent __syncthreads is reported");
        Buffer<int> out(256, 0, 0);
        std::string error = launch(divergent_barrier, dim3(1), dim3(256), 0, out.data());
        if (error.find("deadlock") == std::string::npos) {
            check.problem("not reported: '" + error + "'");
        }
    }
    {
        Check check("emulation: a missing __syncthreads shows");
        Buffer<int> out(256, 0, 0);
        std::string error = launch(racy_shared, dim3(1), dim3(256), 0, out.data());
        int right = 0;
        for (int i = 0; i < 256; i++) {
            right += out[i] == (i + 1) % 256 + 1;
        }
        if (!error.empty() || right == 256) {
            check.problem("error '" + error + "', all 256 threads read their neighbour's write");
        }
    }
}

}  // namespace

int main() {
    for (int signal : {SIGSEGV, SIGBUS, SIGABRT}) {
        ::signal(signal, on_crash);
    }
    auto start = std::chrono::steady_clock::now();
    printf("kvmesh.cu on emulated threads (%u workers); tolerance: max |kernel - reference| <= %g * (1 + max |ref|), "
           "exact for copies\n", cuda_emulation::worker_count(), RELATIVE_TOLERANCE);
    std::mt19937 random(20240611);
    check_emulation();
    check_matmul(random);
    check_rms_norm(random);
    check_rope_and_store(random);
    for (int head_dim : {16, 80, 128, 200}) {
        check_attention(random, head_dim);
    }
    check_elementwise(random);
    check_gather_rows(random);
    check_copy_blocks(random);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    printf("%d checks, %d failed, %.1f s\n", checks, failures, seconds);
    return failures == 0 ? 0 : 1;
}
