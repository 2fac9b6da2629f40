// Whole-model checks of the CUDA backend on random-weight GGUF models: logits against the float64
// reference and the CPU backend, decoding, on-device argmax, the VRAM budget, and the link
// equalities of DESIGN.md (LegoLink-k with k >= chunk length, CacheBlend-1 == full recompute) on
// the GPU. Every test skips, with the reason, when no GPU is usable.
//
// Tolerances (relative L2 error of the logits):
//   GPU vs float64 reference   5e-3: every weight and every matmul input is rounded to f16
//                              (2^-11 relative) and K/V are stored as f16, over 2 layers
//   GPU vs CPU                 2e-2: the CPU's quantized matmuls round activations to q8_0 / q8_K
//   link equalities on the GPU 1e-5: the same rows through the same kernels (exact in practice)
#include "backend/cpu/cpu_backend.h"
#include "backend/cuda/cuda_backend.h"
#include "backend/memory_budget.h"
#include "common/error.h"
#include "forward/transformer.h"
#include "generate/sampler.h"
#include "model/model.h"
#include "model/random_model.h"
#include "pic/compiler.h"
#include "pic/kv_hot_tier.h"
#include "pic/linker.h"
#include "support/reference_llama.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>

namespace epic {
namespace {

double rel_error(const std::vector<float>& a, const std::vector<float>& b) {
    EXPECT_EQ(a.size(), b.size());
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += (double)b[i] * b[i];
    }
    return std::sqrt(num / den);
}

class cuda_model : public ::testing::Test {
protected:
    void SetUp() override {
        try {
            gpu_ = create_cuda_backend(0);
        } catch (const error& e) {
            GTEST_SKIP() << e.what();
        }
        cpu_ = std::make_unique<cpu_backend>(2);
        seed_ = std::random_device{}();
        rng_.seed(seed_);
    }

    std::unique_ptr<model> make_model(random_model_params p, const std::string& file = "m.gguf") {
        p.seed = seed_;
        const std::string path = (dir_ / file).string();
        write_random_model(path, p);
        paths_.push_back(path);
        return model::load(path);
    }
    std::vector<int32_t> tokens(const model& m, int n) {
        std::uniform_int_distribution<int32_t> pick(3, m.config().n_vocab - 1);
        std::vector<int32_t> t((size_t)n);
        for (auto& x : t) x = pick(rng_);
        return t;
    }
    static std::vector<int32_t> iota(int n, int first = 0) {
        std::vector<int32_t> p((size_t)n);
        std::iota(p.begin(), p.end(), first);
        return p;
    }
    // 40 rows of prefill on the device against the float64 reference (5e-3: the device keeps f32
    // activations) and against the CPU (whose 8-bit activations differ by up to cpu_tolerance).
    void expect_prefill_matches_float64_and_the_cpu(const random_model_params& p, double cpu_tolerance) {
        const auto m = make_model(p);
        transformer tf_gpu(*m, *gpu_), tf_cpu(*m, *cpu_);
        const auto toks = tokens(*m, 40);
        const auto got = all_logits(tf_gpu, toks);
        const auto cpu = all_logits(tf_cpu, toks);
        const auto ref = test::reference_llama(paths_.back()).forward(toks);
        std::vector<float> ref_flat;
        for (const auto& row : ref) ref_flat.insert(ref_flat.end(), row.begin(), row.end());
        EXPECT_LT(rel_error(got, ref_flat), 5e-3);
        EXPECT_LT(rel_error(got, cpu), cpu_tolerance);
    }
    static std::vector<float> all_logits(transformer& tf, const std::vector<int32_t>& toks) {
        auto kv = tf.new_kv_cache((int)toks.size());
        std::vector<float> out;
        tf.forward(*kv, toks, iota((int)toks.size()), true, out);
        return out;
    }

    std::unique_ptr<cuda_backend> gpu_;
    std::unique_ptr<cpu_backend> cpu_;
    uint32_t seed_ = 0;
    std::mt19937 rng_;
    test::scratch_dir dir_;
    std::vector<std::string> paths_;
};

class cuda_model_types : public cuda_model, public ::testing::WithParamInterface<ggml_type> {};

TEST_P(cuda_model_types, prefill_logits_match_float64_and_the_cpu) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    random_model_params p = random_model_default_params();
    p.type = GetParam();
    p.embd_type = GetParam();
    expect_prefill_matches_float64_and_the_cpu(p, 2e-2);
}

INSTANTIATE_TEST_SUITE_P(types, cuda_model_types,
                         ::testing::Values(ggml_type::f32, ggml_type::f16, ggml_type::bf16, ggml_type::q8_0, ggml_type::q4_0,
                                           ggml_type::q4_1, ggml_type::q5_0, ggml_type::q5_1, ggml_type::q4_k, ggml_type::q5_k,
                                           ggml_type::q6_k),
                         [](const auto& info) { return std::string(type_name(info.param)); });

// Qwen2 (biases through the add_bias kernel), Qwen3 (QK norms, head dim 64 != n_embd/n_head) and
// Phi-3 (fused qkv and gate/up weights prepared as row ranges, LongRoPE, a window on every layer)
// on the device, against float64 and the CPU.
class cuda_model_families : public cuda_model, public ::testing::WithParamInterface<std::string> {};

TEST_P(cuda_model_families, prefill_logits_match_float64_and_the_cpu) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    random_model_params p = random_model_shape(GetParam());
    p.type = ggml_type::q8_0;
    expect_prefill_matches_float64_and_the_cpu(p, 4e-2);
}

INSTANTIATE_TEST_SUITE_P(shapes, cuda_model_families, ::testing::Values("tiny-qwen2", "tiny-qwen3", "tiny-phi3"),
                         [](const auto& info) { return info.param.substr(5); });

// head_dim 128, 4 query heads per KV head, Llama-3 rope_freqs, tied output (one shared device copy).
TEST_F(cuda_model, gqa_head_dim_128_tied_output_matches_float64) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    random_model_params p = random_model_default_params();
    p.n_embd = 512;
    p.n_head = 4;
    p.n_head_kv = 1;
    p.n_ff = 1024;
    p.rope_freqs = true;
    p.tied_output = true;
    p.rope_base = 500000.0f;
    const auto m = make_model(p);
    transformer tf(*m, *gpu_);
    const auto toks = tokens(*m, 100);
    const auto got = all_logits(tf, toks);
    const auto ref = test::reference_llama(paths_.back()).forward(toks);
    std::vector<float> ref_flat;
    for (const auto& row : ref) ref_flat.insert(ref_flat.end(), row.begin(), row.end());
    EXPECT_LT(rel_error(got, ref_flat), 5e-3);
}

// Prefill a long prompt, then decode one row at a time (the split-key attention path), both
// backends fed the same tokens; the device argmax agrees with the host argmax of the same logits.
TEST_F(cuda_model, decoding_matches_the_cpu_and_device_argmax_agrees) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    random_model_params p = random_model_default_params();
    p.n_ctx = 1024;
    const auto m = make_model(p);
    transformer tf_gpu(*m, *gpu_), tf_cpu(*m, *cpu_);
    const int n_prompt = 600, n_steps = 4;
    auto kv_gpu = tf_gpu.new_kv_cache(n_prompt + n_steps), kv_cpu = tf_cpu.new_kv_cache(n_prompt + n_steps);
    const auto prompt = tokens(*m, n_prompt);
    std::vector<float> lg, lc;
    tf_gpu.forward(*kv_gpu, prompt, iota(n_prompt), false, lg);
    tf_cpu.forward(*kv_cpu, prompt, iota(n_prompt), false, lc);
    EXPECT_LT(rel_error(lg, lc), 2e-2);
    for (int step = 0; step < n_steps; ++step) {
        const int32_t next = argmax(lc);
        const std::vector<int32_t> tok = {next}, pos = {n_prompt + step};
        tf_gpu.forward(*kv_gpu, tok, pos, false, lg);
        tf_cpu.forward(*kv_cpu, tok, pos, false, lc);
        EXPECT_LT(rel_error(lg, lc), 2e-2) << "step " << step;
    }
    // Device argmax over the logits the transformer left in backend memory.
    forward_state s;
    const auto toks = tokens(*m, 17);
    auto kv = tf_gpu.new_kv_cache(17);
    tf_gpu.begin(s, toks, iota(17));
    for (int il = 0; il < m->config().n_layer; ++il) tf_gpu.layer(il, s, *kv);
    std::vector<float> host;
    tf_gpu.logits(s, s.n - 1, 1, host);
    EXPECT_EQ(gpu_->argmax(s.logits->as<float>(), m->config().n_vocab), argmax(host));
}

TEST_F(cuda_model, memory_budget_accepts_a_small_model_and_refuses_an_absurd_context) {
    random_model_params p = random_model_default_params();
    const auto m = make_model(p);
    EXPECT_NO_THROW(gpu_->check_fits(m->config(), 512, 64));
    try {
        gpu_->check_fits(m->config(), 2000000000, 64);
        FAIL() << "expected a refusal";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("GiB of GPU memory"), std::string::npos) << e.what();
    }
}

class cuda_link : public cuda_model {
protected:
    void SetUp() override {
        cuda_model::SetUp();
        if (IsSkipped()) return;
        random_model_params p = random_model_default_params();
        p.n_ctx = 1024;
        mdl_ = make_model(p);
        tf_ = std::make_unique<transformer>(*mdl_, *gpu_);
    }
    chunk_cache compile(const std::vector<int32_t>& t) { return compile_chunk(*tf_, t, 1, compile_options::standalone(1)); }
    std::unique_ptr<model> mdl_;
    std::unique_ptr<transformer> tf_;
};

TEST_F(cuda_link, legolink_with_k_covering_every_chunk_equals_full_recompute_on_the_gpu) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    const auto c1 = compile(tokens(*mdl_, 7)), c2 = compile(tokens(*mdl_, 12)), c3 = compile(tokens(*mdl_, 9));
    link_input in;
    in.system_tokens = {1, 5, 6, 7};
    in.chunks = {&c1, &c2, &c3};
    in.question = tokens(*mdl_, 5);
    linker lk(*tf_);
    const auto fr = lk.link(in, link_policy::parse("full"));
    const auto ll = lk.link(in, link_policy::parse("legolink-13"));
    EXPECT_EQ(ll.recompute_rows.size(), (size_t)fr.layout.n_rows());
    EXPECT_LT(rel_error(ll.logits, fr.logits), 1e-5);
    const auto cb = lk.link(in, link_policy::parse("cacheblend-1"));
    EXPECT_LT(rel_error(cb.logits, fr.logits), 1e-5);

    // And FR on the GPU is a plain prefill, and agrees with FR on the CPU.
    auto kv = tf_->new_kv_cache(fr.layout.n_rows());
    std::vector<float> prefill;
    tf_->forward(*kv, fr.layout.tokens, iota(fr.layout.n_rows()), false, prefill);
    EXPECT_LT(rel_error(fr.logits, prefill), 1e-5);
    transformer tf_cpu(*mdl_, *cpu_);
    auto kv_cpu = tf_cpu.new_kv_cache(fr.layout.n_rows());
    std::vector<float> cpu_prefill;
    tf_cpu.forward(*kv_cpu, fr.layout.tokens, iota(fr.layout.n_rows()), false, cpu_prefill);
    EXPECT_LT(rel_error(fr.logits, cpu_prefill), 5e-3);
}

// Linking with the GPU hot tier and layer-by-layer staging through pinned memory and the copy
// stream: cold (staged) and warm (resident, device-to-device) links give the same bits on the
// device, a small staging budget (layer slots reused) changes nothing, and the result agrees with
// the same link on the CPU backend.
TEST_F(cuda_link, hot_tier_and_staged_links_match_each_other_and_the_cpu) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    const auto c1 = compile(tokens(*mdl_, 11)), c2 = compile(tokens(*mdl_, 17)), c3 = compile(tokens(*mdl_, 8));
    link_input in;
    in.system_tokens = {1, 5, 6};
    in.chunks = {&c1, &c2, &c3, &c1};
    in.question = tokens(*mdl_, 6);
    transformer tf_cpu(*mdl_, *cpu_);
    for (const char* algo : {"naive", "legolink-2", "legolink-0", "cacheblend-0.3"}) {
        SCOPED_TRACE(algo);
        const link_policy pol = link_policy::parse(algo);
        link_input in_pol = in;
        std::vector<chunk_cache> recompiled;
        if (pol.sink_tokens() != 1) { // LegoLink-0 needs caches compiled with its sinks
            recompiled = {compile_chunk(*tf_, c1.tokens, 1, pol.chunk_compile_options()),
                          compile_chunk(*tf_, c2.tokens, 1, pol.chunk_compile_options()),
                          compile_chunk(*tf_, c3.tokens, 1, pol.chunk_compile_options())};
            in_pol.chunks = {&recompiled[0], &recompiled[1], &recompiled[2], &recompiled[0]};
        }
        kv_hot_tier tier(*gpu_, 64u << 20);
        linker with_tier(*tf_, &tier);
        const auto cold = with_tier.link(in_pol, pol);
        EXPECT_EQ(cold.stats.chunks_resident, 1) << "the repeated chunk is resident by its second use";
        EXPECT_EQ(cold.stats.chunks_staged, 3);
        const auto warm = with_tier.link(in_pol, pol);
        EXPECT_EQ(warm.stats.chunks_resident, 4);
        EXPECT_EQ(warm.stats.chunks_staged, 0);
        EXPECT_EQ(warm.stats.bytes_copied_host, 0u);
        EXPECT_EQ(warm.logits, cold.logits) << "resident and staged caches give the same bits";

        linker small_staging(*tf_);
        small_staging.set_staging_budget(1); // two layer slots, reused in turn
        const auto staged = small_staging.link(in_pol, pol);
        EXPECT_EQ(staged.logits, cold.logits);

        linker on_cpu(tf_cpu);
        const auto cpu = on_cpu.link(in_pol, pol);
        EXPECT_EQ(cpu.recompute_rows, cold.recompute_rows);
        EXPECT_LT(rel_error(cold.logits, cpu.logits), 5e-3);
    }
}

} // namespace
} // namespace epic
