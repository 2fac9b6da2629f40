// The CUDA backend's memory budget is plain arithmetic (backend/memory_budget.h), so it is checked
// here on the CPU: the estimate for real model shapes, the 5% reserve, and the refusal's text.
#include "backend/cpu/cpu_backend.h"
#include "backend/memory_budget.h"
#include "common/error.h"
#include "model/model_config.h"
#include "model/random_model.h"

#include <gtest/gtest.h>

namespace epic {
namespace {

constexpr size_t gib = size_t(1) << 30;

// The configuration a GGUF of this random-model shape would carry.
model_config config_of(const std::string& shape) {
    const random_model_params p = random_model_shape(shape);
    model_config c;
    c.arch = p.arch;
    c.n_vocab = p.n_vocab;
    c.n_embd = p.n_embd;
    c.n_layer = p.n_layer;
    c.n_head = p.n_head;
    c.n_head_kv = p.n_head_kv;
    c.head_dim = p.head_dim > 0 ? p.head_dim : p.n_embd / p.n_head;
    c.n_ff = p.n_ff;
    c.n_ctx_train = p.n_ctx;
    c.n_rot = c.head_dim;
    c.tied_output = p.tied_output;
    return c;
}

std::string refusal(const cuda_memory_estimate& e, size_t free_bytes, size_t total_bytes) {
    try {
        check_cuda_memory(e, free_bytes, total_bytes);
    } catch (const error& ex) {
        return ex.what();
    }
    return {};
}

TEST(backend_memory_budget, tinyllama_shape_is_1_1b_parameters_and_about_2_gib_as_f16) {
    const model_config c = config_of("tinyllama");
    const int64_t params = cuda_weight_params(c);
    // 22 layers of (2048x2048 q,o + 2048x256 k,v + 3 x 2048x5632 FFN), embedding and output 32000x2048.
    EXPECT_EQ(params, 22 * (2 * 2048 * 2048 + 2 * 2048 * 256 + 3 * 2048 * 5632) + 2 * int64_t(32000) * 2048);
    EXPECT_EQ(params, 1099956224);
    const cuda_memory_estimate e = estimate_cuda_memory(c, params, 2048, 512);
    EXPECT_EQ(e.weights, size_t(params) * 2 + (22 * 2 + 1) * 2048 * 4); // f16 matrices + f32 norms
    EXPECT_EQ(e.kv, size_t(22) * 2 * 2048 * 256 * 2);                    // grouped-query: 4 KV heads of 64
    EXPECT_NEAR((double)e.weights / gib, 2.05, 0.01);
    EXPECT_LT(e.total(), 3 * gib);
    // Fits an 8 GiB card with most of it free.
    EXPECT_NO_THROW(check_cuda_memory(e, 7 * gib, 8 * gib));
}

TEST(backend_memory_budget, llama2_7b_shape_needs_more_than_an_8_gib_card_and_fits_a_24_gib_one) {
    const model_config c = config_of("llama2-7b");
    const int64_t params = cuda_weight_params(c);
    EXPECT_EQ(params, 6738149376); // "7B"
    const cuda_memory_estimate e = estimate_cuda_memory(c, params, 4096, 512);
    EXPECT_GT(e.weights, size_t(13'400'000'000)); // ~13.5 GB as f16
    EXPECT_EQ(e.kv, size_t(32) * 2 * 4096 * 4096 * 2); // 2 GiB of f16 K and V at 4096 rows
    EXPECT_NO_THROW(check_cuda_memory(e, 22 * gib, 24 * gib));
    const std::string m = refusal(e, (size_t)(7.5 * gib), 8 * gib);
    ASSERT_FALSE(m.empty()) << "a 7B model must not fit in 7.5 GiB";
    EXPECT_EQ(m.rfind("model needs " + format_gib(e.total()) + " of GPU memory, 7.50 GiB free of 8.00 GiB", 0), 0u) << m;
    EXPECT_NE(m.find("0.40 GiB kept in reserve"), std::string::npos) << m;
    EXPECT_NE(m.find("weights " + format_gib(e.weights)), std::string::npos) << m;
    EXPECT_NE(m.find("KV cache 2.00 GiB"), std::string::npos) << m;
    EXPECT_NE(m.find("device 'cpu'"), std::string::npos) << m;
    std::printf("refusal: %s\n", m.c_str());
}

TEST(backend_memory_budget, five_percent_of_the_device_is_kept_in_reserve) {
    EXPECT_EQ(cuda_memory_reserve(20 * gib), gib);
    cuda_memory_estimate e;
    e.weights = 3 * gib;
    const size_t total = 20 * gib;
    EXPECT_NO_THROW(check_cuda_memory(e, e.total() + gib, total));        // exactly the need plus the reserve
    EXPECT_FALSE(refusal(e, e.total() + gib - 1, total).empty());         // one byte short
    EXPECT_FALSE(refusal(e, gib / 2, total).empty());                     // less free than the reserve itself
}

TEST(backend_memory_budget, longer_context_and_bigger_batches_cost_kv_and_activations) {
    const model_config c = config_of("tinyllama");
    const int64_t params = cuda_weight_params(c);
    const cuda_memory_estimate small = estimate_cuda_memory(c, params, 1024, 64);
    const cuda_memory_estimate big = estimate_cuda_memory(c, params, 2048, 512);
    EXPECT_EQ(big.weights, small.weights);
    EXPECT_EQ(big.kv, 2 * small.kv);
    EXPECT_EQ(big.activations, 8 * small.activations);
    EXPECT_EQ(estimate_cuda_memory(c, params, 1024, 64, true).kv, small.kv * 3 / 2); // pre-RoPE K kept
    model_config tied = c;
    tied.tied_output = true;
    EXPECT_EQ(cuda_weight_params(tied), params - int64_t(32000) * 2048);
}

TEST(backend_memory_budget, the_cpu_backend_has_nothing_to_check) {
    cpu_backend be(1);
    EXPECT_NO_THROW(be.check_fits(config_of("llama2-7b"), 1 << 20, 4096));
}

} // namespace
} // namespace epic
