#include "backend/cpu/cpu_backend.h"

#include "common/error.h"
#include "core/fp16.h"
#include "model/model.h"
#include "quant/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace epic {
namespace {

class host_buffer final : public device_buffer {
public:
    explicit host_buffer(size_t bytes) : bytes_(bytes), data_(new (std::align_val_t(64)) uint8_t[bytes ? bytes : 1]) {}
    ~host_buffer() override { ::operator delete[](data_, std::align_val_t(64)); }
    void* data() override { return data_; }
    size_t size() const override { return bytes_; }

private:
    size_t bytes_;
    uint8_t* data_;
};

} // namespace

cpu_backend::cpu_backend(int n_threads) : pool_(n_threads), scratch_((size_t)pool_.size()) {}

std::string cpu_backend::name() const { return "cpu (" + std::to_string(pool_.size()) + " threads)"; }

std::unique_ptr<device_buffer> cpu_backend::alloc(size_t bytes) { return std::make_unique<host_buffer>(bytes); }
void cpu_backend::upload(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void cpu_backend::download(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void cpu_backend::copy(void* dst, const void* src, size_t bytes) { std::memmove(dst, src, bytes); }

device_weight cpu_backend::prepare_weight(const weight_view& w) {
    // Zero-copy: the CPU computes straight from the mapped file.
    device_weight d;
    d.type = w.type;
    d.rows = w.rows;
    d.cols = w.cols;
    d.row_stride = w.row_stride;
    d.data = w.data;
    return d;
}

void cpu_backend::parallel_range(size_t n, size_t min_chunk, const std::function<void(size_t, size_t)>& fn) {
    const size_t max_tasks = (size_t)pool_.size() * 4;
    size_t chunk = std::max(min_chunk, (n + max_tasks - 1) / std::max<size_t>(max_tasks, 1));
    if (chunk == 0) chunk = 1;
    const int64_t n_tasks = (int64_t)((n + chunk - 1) / chunk);
    pool_.parallel_for(n_tasks, [&](int64_t t, int) {
        const size_t b = (size_t)t * chunk;
        fn(b, std::min(n, b + chunk));
    });
}

void cpu_backend::get_rows(const device_weight& table, const int32_t* ids, int n, float* out) {
    for (int i = 0; i < n; ++i) {
        if (ids[i] < 0 || ids[i] >= table.rows)
            throw error("token id " + std::to_string(ids[i]) + " is outside the vocabulary of " + std::to_string(table.rows));
    }
    parallel_range((size_t)n, 1, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i)
            dequantize_row(table.type, static_cast<const uint8_t*>(table.data) + (size_t)ids[i] * table.row_stride,
                           out + i * (size_t)table.cols, table.cols);
    });
}

void cpu_backend::rms_norm(const float* x, const float* w, float* y, int n, int dim, float eps) {
    parallel_range((size_t)n, 1, [&](size_t b, size_t e) {
        for (size_t r = b; r < e; ++r) {
            const float* xr = x + r * (size_t)dim; // [dim]
            float* yr = y + r * (size_t)dim;
            double ss = 0.0;
            for (int i = 0; i < dim; ++i) ss += (double)xr[i] * xr[i];
            const float scale = (float)(1.0 / std::sqrt(ss / dim + eps));
            for (int i = 0; i < dim; ++i) yr[i] = xr[i] * scale * w[i];
        }
    });
}

void cpu_backend::swiglu(const float* gate, const float* up, float* out, size_t n) {
    parallel_range(n, 4096, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
    });
}

void cpu_backend::scale(float* x, size_t n, float s) {
    parallel_range(n, 16384, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) x[i] *= s;
    });
}

void cpu_backend::geglu(const float* gate, const float* up, float* out, size_t n) {
    // GELU, tanh approximation (as ggml and gelu_pytorch_tanh compute it).
    constexpr float sqrt_2_over_pi = 0.7978845608028654f;
    parallel_range(n, 4096, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) {
            const float g = gate[i];
            out[i] = 0.5f * g * (1.0f + std::tanh(sqrt_2_over_pi * (g + 0.044715f * g * g * g))) * up[i];
        }
    });
}

void cpu_backend::layer_norm(const float* x, const float* w, const float* b, float* y, int n, int dim, float eps) {
    parallel_range((size_t)n, 1, [&](size_t r0, size_t r1) {
        for (size_t r = r0; r < r1; ++r) {
            const float* xr = x + r * (size_t)dim; // [dim]
            float* yr = y + r * (size_t)dim;       // [dim], may be xr: both sums are taken before any write
            // Two passes in double: the one-pass E[x^2] - E[x]^2 cancels badly when the mean is large
            // against the spread, which residual streams with a big offset do produce.
            double sum = 0.0;
            for (int i = 0; i < dim; ++i) sum += xr[i];
            const double mean = sum / dim;
            double ss = 0.0;
            for (int i = 0; i < dim; ++i) {
                const double d = xr[i] - mean;
                ss += d * d;
            }
            // Centred in double too: the mean rounded to f32 would shift every value by up to half
            // an ulp of the mean, which is large against the spread when the mean is.
            const double inv = 1.0 / std::sqrt(ss / dim + (double)eps);
            for (int i = 0; i < dim; ++i) yr[i] = (float)((xr[i] - mean) * inv) * w[i] + b[i];
        }
    });
}

namespace {

// erf(x) in f32 as an odd rational function on [-4, 4] (beyond, erf is +-1 in f32): the coefficients
// of Eigen's generic_fast_erf_float. Checked against Python's math.erf on 2e5 points of [-6, 6]:
// |error| <= 4.2e-7 (a few f32 ulps). Plain arithmetic, so the gelu loop vectorises; std::erf is a
// libm call per element, 8% of an all-MiniLM-L6-v2 embedding on two threads.
inline float erf_rational(float a) {
    const float x = std::min(std::max(a, -4.0f), 4.0f); // NaN stays NaN
    const float x2 = x * x;
    float p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 - 2.10102402082508e-06f;
    p = p * x2 - 5.69250639462346e-05f;
    p = p * x2 - 7.34990630326855e-04f;
    p = p * x2 - 2.95459980854025e-03f;
    p = p * x2 - 1.60960333262415e-02f;
    float q = -1.45660718464996e-05f;
    q = q * x2 - 2.13374055278905e-04f;
    q = q * x2 - 1.68282697438203e-03f;
    q = q * x2 - 7.37332916720468e-03f;
    q = q * x2 - 1.42647390514189e-02f;
    // The quotient overshoots 1 by up to 4e-7 near the clamp.
    return std::min(std::max(x * p / q, -1.0f), 1.0f);
}

} // namespace

void cpu_backend::gelu(const float* x, float* out, size_t n) {
    // The exact GELU with erf (BERT's "gelu"), not geglu's tanh approximation: the two differ by up
    // to ~5e-4 per element, more than the embedding model's tolerance should absorb silently.
    constexpr float inv_sqrt2 = 0.70710678118654752f;
    parallel_range(n, 4096, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) {
            const float v = x[i];
            out[i] = 0.5f * v * (1.0f + erf_rational(v * inv_sqrt2));
        }
    });
}

void cpu_backend::add(float* y, const float* x, size_t n) {
    parallel_range(n, 16384, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) y[i] += x[i];
    });
}

void cpu_backend::add_bias(float* y, const float* b, int n, int width) {
    parallel_range((size_t)n, 16, [&](size_t r0, size_t r1) {
        for (size_t r = r0; r < r1; ++r) {
            float* row = y + r * (size_t)width; // [width]
            for (int j = 0; j < width; ++j) row[j] += b[j];
        }
    });
}

void cpu_backend::gather_rows(const float* src, const int32_t* rows, int n, int width, float* dst) {
    for (int i = 0; i < n; ++i)
        std::memcpy(dst + (size_t)i * width, src + (size_t)rows[i] * width, sizeof(float) * (size_t)width);
}

void cpu_backend::scatter_f16(const float* src, const int32_t* rows, int n, int width, uint16_t* dst) {
    parallel_range((size_t)n, 1, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) {
            uint16_t* d = dst + (size_t)rows[i] * width; // [width]
            const float* s = src + i * (size_t)width;
            for (int j = 0; j < width; ++j) d[j] = fp32_to_fp16(s[j]);
        }
    });
}

} // namespace epic
