#pragma once
// The fixture of the compile and link tests: a random-weight model of one family (the test
// parameter), a CPU backend, and helpers for tokens, compiles and plain prefills.
#include "backend/cpu/cpu_backend.h"
#include "model/random_model.h"
#include "pic/compiler.h"
#include "pic/linker.h"
#include "support/reference_llama.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <numeric>
#include <random>

namespace epic {

// The link tests run on a llama fixture, a gemma3 fixture (sliding-window layers, rotate-half RoPE
// with a base per layer, Q/K norms), and qwen2 (biases before the pre-RoPE keys are stored), qwen3
// and phi3 (fused tensors, LongRoPE) fixtures.
class pic_test : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        seed_ = std::random_device{}();
        rng_.seed(seed_);
        random_model_params p = random_model_shape(GetParam());
        p.type = ggml_type::f32;
        p.seed = seed_;
        p.n_ctx = 1024;
        path_ = (dir_ / "m.gguf").string();
        write_random_model(path_, p);
        mdl_ = model::load(path_);
        be_ = std::make_unique<cpu_backend>(2);
        tf_ = std::make_unique<transformer>(*mdl_, *be_);
    }
    std::vector<int32_t> tokens(int n) {
        std::uniform_int_distribution<int32_t> pick(3, mdl_->config().n_vocab - 1);
        std::vector<int32_t> t((size_t)n);
        for (auto& x : t) x = pick(rng_);
        return t;
    }
    chunk_cache compile(const std::vector<int32_t>& t, int sinks = 1) { return compile_chunk(*tf_, t, 1, compile_options::standalone(sinks)); }
    // Logits of the last row of a plain prefill of the layout's token sequence.
    std::vector<float> full_prefill(const std::vector<int32_t>& seq) {
        auto kv = tf_->new_kv_cache((int)seq.size());
        std::vector<int32_t> pos(seq.size());
        std::iota(pos.begin(), pos.end(), 0);
        std::vector<float> logits;
        tf_->forward(*kv, seq, pos, false, logits);
        return logits;
    }
    static std::vector<int32_t> concat_rows(std::initializer_list<std::vector<int32_t>> parts) {
        std::vector<int32_t> out;
        for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
        return out;
    }
    static double rel(const std::vector<float>& a, const std::vector<float>& b) {
        std::vector<double> bd(b.begin(), b.end());
        return test::relative_error(a.data(), bd.data(), a.size());
    }

    uint32_t seed_ = 0;
    std::mt19937 rng_;
    test::scratch_dir dir_;
    std::string path_;
    std::unique_ptr<model> mdl_;
    std::unique_ptr<cpu_backend> be_;
    std::unique_ptr<transformer> tf_;
};

// Names of the families the fixture instantiates with.
inline std::string pic_family_name(const ::testing::TestParamInfo<std::string>& info) {
    return info.param == "tiny" ? std::string("llama") : info.param.substr(5);
}

} // namespace epic
