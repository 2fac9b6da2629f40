// The BERT encoder (runtime/embed/bert_encoder) and its safetensors reader:
//  1. on fresh random fixture weights, written by the test as a real model.safetensors + config.json,
//     against a float64 reference written here (plain loops, no shared code with the encoder): the
//     hidden states and the sentence embedding, by relative L2 error. A second float64 reference that
//     rounds K and V to f16 as the backend's attention does separates that rounding (the bulk of the
//     error) from the f32 arithmetic;
//  2. hostile files: every malformed safetensors container, missing or misshapen tensor and bad
//     config.json is an epic::error naming the file (and the tensor);
//  3. the real all-MiniLM-L6-v2 (models/all-minilm-l6-v2, skipped when absent) against the float64
//     numpy implementation tests/data/embed/bert_numpy_reference.py, whose output (token ids and
//     whole embeddings) is committed as tests/data/embed/minilm_reference.json; also times embed()
//     on its 128-token input.
// The fixture cases run again on the CUDA backend where one is usable (skipped otherwise).
#include "backend/backend.h"
#include "common/error.h"
#include "core/fp16.h"
#include "core/json.h"
#include "embed/bert_encoder.h"
#include "embed/safetensors.h"
#include "support/reference_llama.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <random>

namespace epic {
namespace {

// --- safetensors writing ------------------------------------------------------------------------------

struct st_tensor {
    std::string name;
    std::string dtype = "F32";
    std::vector<int64_t> shape;
    std::string bytes;
};

std::string shape_json(const std::vector<int64_t>& s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i) {
        if (i) out += ',';
        out += std::to_string(s[i]);
    }
    return out + "]";
}

// 8-byte little-endian header length, the header (padded with spaces to 8 bytes, as writers do, so
// that data offsets decide the alignment), the data: a file image with any header at all.
std::string safetensors_raw(std::string header, const std::string& data) {
    while (header.size() % 8 != 0) header += ' ';
    std::string out(8, '\0');
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out[(size_t)i] = (char)(n >> (8 * i) & 0xff);
    return out + header + data;
}

// A well-formed image: tensors laid out in the given order, header padded with spaces to 8 bytes as
// the reference writer does.
std::string safetensors_image(const std::vector<st_tensor>& ts) {
    std::string header = "{\"__metadata__\":{\"format\":\"pt\"}", data;
    for (const st_tensor& t : ts) {
        const size_t b = data.size();
        data += t.bytes;
        header += ",\"" + t.name + "\":{\"dtype\":\"" + t.dtype + "\",\"shape\":" + shape_json(t.shape) +
                  ",\"data_offsets\":[" + std::to_string(b) + "," + std::to_string(data.size()) + "]}";
    }
    header += "}";
    return safetensors_raw(header, data);
}

std::string float_bytes(const std::vector<float>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

// --- the fixture model -------------------------------------------------------------------------------

struct bert_shape {
    int n_vocab = 50, n_embd = 48, n_layer = 2, n_head = 4, n_ff = 96, n_ctx = 32, n_type = 2;
    double eps = 1e-12;
};

struct bert_fixture {
    bert_shape s;
    std::vector<std::string> order;                   // tensor names in file order
    std::map<std::string, std::vector<int64_t>> shape; // name -> shape
    std::map<std::string, std::vector<float>> w;      // name -> values (F32 tensors)

    void add(const std::string& name, std::vector<int64_t> sh, std::vector<float> v) {
        order.push_back(name);
        shape[name] = std::move(sh);
        w[name] = std::move(v);
    }
    // The file's tensors: embeddings.position_ids (I64, as the real checkpoint has) first, then every weight.
    std::vector<st_tensor> tensors() const {
        std::vector<st_tensor> ts;
        std::vector<int64_t> pos((size_t)s.n_ctx);
        for (int i = 0; i < s.n_ctx; ++i) pos[(size_t)i] = i;
        ts.push_back({"embeddings.position_ids", "I64", {1, s.n_ctx},
                      std::string(reinterpret_cast<const char*>(pos.data()), pos.size() * sizeof(int64_t))});
        for (const std::string& n : order) ts.push_back({n, "F32", shape.at(n), float_bytes(w.at(n))});
        return ts;
    }
};

// Fresh random weights, never zeros: matrices N(0, 1/in) (so q.k / sqrt(head_dim) is O(1) and the
// attention is neither uniform nor one-hot), biases N(0, 0.1^2), norm weights 1 + N(0, 0.1^2).
bert_fixture random_bert(const bert_shape& s, std::mt19937& rng) {
    bert_fixture f;
    f.s = s;
    auto normal = [&](size_t n, double mean, double sd) {
        std::normal_distribution<float> d((float)mean, (float)sd);
        std::vector<float> v(n);
        for (float& x : v) x = d(rng);
        return v;
    };
    const int64_t E = s.n_embd, F = s.n_ff;
    auto matrix = [&](const std::string& name, int64_t rows, int64_t cols) {
        f.add(name, {rows, cols}, normal((size_t)(rows * cols), 0.0, 1.0 / std::sqrt((double)cols)));
    };
    auto bias = [&](const std::string& name, int64_t n) { f.add(name, {n}, normal((size_t)n, 0.0, 0.1)); };
    auto norm = [&](const std::string& name) {
        f.add(name + ".weight", {E}, normal((size_t)E, 1.0, 0.1));
        bias(name + ".bias", E);
    };
    f.add("embeddings.word_embeddings.weight", {s.n_vocab, E}, normal((size_t)(s.n_vocab * E), 0.0, 1.0));
    f.add("embeddings.position_embeddings.weight", {s.n_ctx, E}, normal((size_t)(s.n_ctx * E), 0.0, 0.5));
    f.add("embeddings.token_type_embeddings.weight", {s.n_type, E}, normal((size_t)(s.n_type * E), 0.0, 0.5));
    norm("embeddings.LayerNorm");
    for (int il = 0; il < s.n_layer; ++il) {
        const std::string p = "encoder.layer." + std::to_string(il) + ".";
        for (const char* m : {"query", "key", "value"}) {
            matrix(p + "attention.self." + m + ".weight", E, E);
            bias(p + "attention.self." + m + ".bias", E);
        }
        matrix(p + "attention.output.dense.weight", E, E);
        bias(p + "attention.output.dense.bias", E);
        norm(p + "attention.output.LayerNorm");
        matrix(p + "intermediate.dense.weight", F, E);
        bias(p + "intermediate.dense.bias", F);
        matrix(p + "output.dense.weight", E, F);
        bias(p + "output.dense.bias", E);
        norm(p + "output.LayerNorm");
    }
    return f;
}

// config.json as a key -> JSON literal map, so tests can change or drop any key.
std::map<std::string, std::string> config_keys(const bert_shape& s) {
    char eps[32];
    std::snprintf(eps, sizeof eps, "%.17g", s.eps);
    return {{"architectures", "[\"BertModel\"]"},
            {"model_type", "\"bert\""},
            {"hidden_act", "\"gelu\""},
            {"position_embedding_type", "\"absolute\""},
            {"vocab_size", std::to_string(s.n_vocab)},
            {"hidden_size", std::to_string(s.n_embd)},
            {"num_hidden_layers", std::to_string(s.n_layer)},
            {"num_attention_heads", std::to_string(s.n_head)},
            {"intermediate_size", std::to_string(s.n_ff)},
            {"max_position_embeddings", std::to_string(s.n_ctx)},
            {"type_vocab_size", std::to_string(s.n_type)},
            {"layer_norm_eps", eps}};
}

std::string config_text(const std::map<std::string, std::string>& keys) {
    std::string out = "{\n";
    for (const auto& [k, v] : keys) out += (out.size() > 2 ? ",\n" : "") + ("  \"" + k + "\": " + v);
    return out + "\n}\n";
}

void write_model(const std::filesystem::path& dir, const bert_fixture& f) {
    test::write_file(dir / "config.json", config_text(config_keys(f.s)));
    test::write_file(dir / "model.safetensors", safetensors_image(f.tensors()));
}

// --- the float64 reference ---------------------------------------------------------------------------

// Hidden states [n, n_embd] of BertModel in float64 (plain loops). round_kv_f16: K and V rounded to
// f16 before attention, as the backend's attention op stores them.
std::vector<double> reference_hidden(const bert_fixture& f, const std::vector<int32_t>& ids, bool round_kv_f16) {
    const int n = (int)ids.size(), E = f.s.n_embd, F = f.s.n_ff, H = f.s.n_head, hd = E / H;
    auto W = [&](const std::string& name) -> const std::vector<float>& { return f.w.at(name); };
    // y[n, out] = x[n, in] W[out, in]^T + b[out]
    auto linear = [&](const std::vector<double>& x, const std::string& name, int in, int out) {
        const std::vector<float>& w = W(name + ".weight");
        const std::vector<float>& b = W(name + ".bias");
        std::vector<double> y((size_t)n * out);
        for (int i = 0; i < n; ++i)
            for (int o = 0; o < out; ++o) {
                double s = b[(size_t)o];
                for (int c = 0; c < in; ++c) s += x[(size_t)i * in + c] * (double)w[(size_t)o * in + c];
                y[(size_t)i * out + o] = s;
            }
        return y;
    };
    auto layer_norm = [&](std::vector<double>& x, const std::string& name) {
        const std::vector<float>& g = W(name + ".weight");
        const std::vector<float>& b = W(name + ".bias");
        for (int i = 0; i < n; ++i) {
            double* r = &x[(size_t)i * E];
            double mean = 0.0, var = 0.0;
            for (int j = 0; j < E; ++j) mean += r[j];
            mean /= E;
            for (int j = 0; j < E; ++j) var += (r[j] - mean) * (r[j] - mean);
            var /= E;
            const double inv = 1.0 / std::sqrt(var + (double)(float)f.s.eps);
            for (int j = 0; j < E; ++j) r[j] = (r[j] - mean) * inv * g[(size_t)j] + b[(size_t)j];
        }
    };
    std::vector<double> x((size_t)n * E); // [n, n_embd]
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < E; ++j)
            x[(size_t)i * E + j] = (double)W("embeddings.word_embeddings.weight")[(size_t)ids[(size_t)i] * E + j] +
                                   W("embeddings.position_embeddings.weight")[(size_t)i * E + j] +
                                   W("embeddings.token_type_embeddings.weight")[(size_t)j];
    layer_norm(x, "embeddings.LayerNorm");
    for (int il = 0; il < f.s.n_layer; ++il) {
        const std::string p = "encoder.layer." + std::to_string(il) + ".";
        const std::vector<double> q = linear(x, p + "attention.self.query", E, E); // [n, H, hd]
        std::vector<double> k = linear(x, p + "attention.self.key", E, E);
        std::vector<double> v = linear(x, p + "attention.self.value", E, E);
        if (round_kv_f16)
            for (auto* t : {&k, &v})
                for (double& e : *t) e = fp16_to_fp32(fp32_to_fp16((float)e));
        std::vector<double> att((size_t)n * E, 0.0), s((size_t)n);
        for (int h = 0; h < H; ++h)
            for (int i = 0; i < n; ++i) {
                double mx = -INFINITY, sum = 0.0;
                for (int j = 0; j < n; ++j) { // every key: bidirectional
                    double d = 0.0;
                    for (int c = 0; c < hd; ++c) d += q[(size_t)i * E + h * hd + c] * k[(size_t)j * E + h * hd + c];
                    s[(size_t)j] = d / std::sqrt((double)hd);
                    mx = std::max(mx, s[(size_t)j]);
                }
                for (int j = 0; j < n; ++j) sum += (s[(size_t)j] = std::exp(s[(size_t)j] - mx));
                for (int j = 0; j < n; ++j)
                    for (int c = 0; c < hd; ++c)
                        att[(size_t)i * E + h * hd + c] += s[(size_t)j] / sum * v[(size_t)j * E + h * hd + c];
            }
        std::vector<double> o = linear(att, p + "attention.output.dense", E, E);
        for (size_t i = 0; i < x.size(); ++i) x[i] += o[i];
        layer_norm(x, p + "attention.output.LayerNorm");
        std::vector<double> u = linear(x, p + "intermediate.dense", E, F);
        for (double& e : u) e = 0.5 * e * (1.0 + std::erf(e / std::sqrt(2.0)));
        o = linear(u, p + "output.dense", F, E);
        for (size_t i = 0; i < x.size(); ++i) x[i] += o[i];
        layer_norm(x, p + "output.LayerNorm");
    }
    return x;
}

// Mean over rows, L2-normalised.
std::vector<double> pool(const std::vector<double>& h, int n, int E) {
    std::vector<double> m((size_t)E, 0.0);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < E; ++j) m[(size_t)j] += h[(size_t)i * E + j] / n;
    double ss = 0.0;
    for (double v : m) ss += v * v;
    for (double& v : m) v /= std::sqrt(ss);
    return m;
}

double cosine(const std::vector<float>& a, const std::vector<double>& b) {
    double ab = 0.0, aa = 0.0, bb = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
        ab += a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += b[i] * b[i];
    }
    return ab / std::sqrt(aa * bb);
}

std::vector<int32_t> random_ids(std::mt19937& rng, int n, int n_vocab) {
    std::uniform_int_distribution<int32_t> pick(0, n_vocab - 1);
    std::vector<int32_t> ids((size_t)n);
    for (auto& x : ids) x = pick(rng);
    return ids;
}

// The CUDA backend, or null with *why (not built, or no GPU here) for the test to skip.
std::unique_ptr<backend> cuda(std::string* why) {
    backend_params bp;
    bp.device = "cuda";
    try {
        return create_backend(bp);
    } catch (const error& e) {
        *why = e.what();
        return nullptr;
    }
}

std::unique_ptr<backend> cpu() {
    backend_params bp;
    bp.device = "cpu";
    return create_backend(bp);
}

// The message of the epic::error f throws (a failure when it throws none).
std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const error& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected an epic::error";
    return "";
}

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

// --- the backend ops BERT added ------------------------------------------------------------------------

// layer_norm (out of place and in place, rows with a mean far from 0) and gelu (over [-12, 12] and
// special values) against float64. tol: relative error per row for layer_norm, absolute for gelu.
void check_ops(backend& be, double tol) {
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (int dim : {48, 384, 1000}) {
        SCOPED_TRACE("dim " + std::to_string(dim));
        const int n = 5;
        std::vector<float> x((size_t)n * dim), w((size_t)dim), b((size_t)dim); // [n, dim], [dim], [dim]
        for (int i = 0; i < n; ++i)
            for (int j = 0; j < dim; ++j) // row 1: mean 100 against a spread of 1 (cancellation); others N(0, 3^2)
                x[(size_t)i * dim + j] = i == 1 ? 100.0f + normal(rng) : 3.0f * normal(rng);
        for (float& v : w) v = 1.0f + 0.1f * normal(rng);
        for (float& v : b) v = 0.1f * normal(rng);
        auto xd = be.alloc(x.size() * 4), yd = be.alloc(x.size() * 4), wd = be.alloc(w.size() * 4), bd = be.alloc(b.size() * 4);
        be.upload(xd->data(), x.data(), x.size() * 4);
        be.upload(wd->data(), w.data(), w.size() * 4);
        be.upload(bd->data(), b.data(), b.size() * 4);
        be.layer_norm(xd->as<float>(), wd->as<float>(), bd->as<float>(), yd->as<float>(), n, dim, 1e-12f);
        be.layer_norm(xd->as<float>(), wd->as<float>(), bd->as<float>(), xd->as<float>(), n, dim, 1e-12f); // in place
        std::vector<float> y(x.size()), y_in_place(x.size());
        be.download(y.data(), yd->data(), y.size() * 4);
        be.download(y_in_place.data(), xd->data(), y.size() * 4);
        for (int i = 0; i < n; ++i) {
            const float* r = &x[(size_t)i * dim];
            double mean = 0.0, var = 0.0;
            for (int j = 0; j < dim; ++j) mean += r[j];
            mean /= dim;
            for (int j = 0; j < dim; ++j) var += (r[j] - mean) * (r[j] - mean);
            var /= dim;
            std::vector<double> want((size_t)dim);
            for (int j = 0; j < dim; ++j) want[(size_t)j] = (r[j] - mean) / std::sqrt(var + 1e-12) * w[(size_t)j] + b[(size_t)j];
            EXPECT_LT(test::relative_error(&y[(size_t)i * dim], want.data(), (size_t)dim), tol) << "row " << i;
            EXPECT_LT(test::relative_error(&y_in_place[(size_t)i * dim], want.data(), (size_t)dim), tol) << "row " << i;
        }
    }
    std::vector<float> g;
    for (int i = 0; i <= 4800; ++i) g.push_back(-12.0f + 24.0f * (float)i / 4800.0f);
    for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-6f, 3.4e38f, -3.4e38f}) g.push_back(v);
    auto gd = be.alloc(g.size() * 4), od = be.alloc(g.size() * 4);
    be.upload(gd->data(), g.data(), g.size() * 4);
    be.gelu(gd->as<float>(), od->as<float>(), g.size());
    be.gelu(gd->as<float>(), gd->as<float>(), g.size()); // in place
    std::vector<float> out(g.size()), in_place(g.size());
    be.download(out.data(), od->data(), g.size() * 4);
    be.download(in_place.data(), gd->data(), g.size() * 4);
    double worst = 0.0;
    for (size_t i = 0; i < g.size(); ++i) {
        const double v = g[i], want = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
        // Relative to max(1, |x|): gelu(x) ~ x for large x, and the f32 input is only that exact.
        const double err = std::abs(out[i] - want) / std::max(1.0, std::abs(v));
        worst = std::max(worst, err);
        EXPECT_LT(err, tol) << "gelu(" << v << ") = " << out[i] << ", want " << want;
        EXPECT_EQ(out[i], in_place[i]) << v;
    }
    std::printf("  %s gelu worst error %.1e\n", be.name().c_str(), worst);
}

TEST(bert_backend_ops, cpu_layer_norm_and_gelu_match_float64) {
    auto be = cpu();
    check_ops(*be, 1e-6);
}

TEST(bert_backend_ops, cuda_layer_norm_and_gelu_match_float64) {
    std::string why;
    auto be = cuda(&why);
    if (!be) GTEST_SKIP() << why;
    check_ops(*be, 2e-5); // f32 sums (the mean of row 1 loses ~1e-5 of the spread), erff under fast math
}

// --- 1. fixture weights against float64 ---------------------------------------------------------------

struct accuracy_case {
    const char* name;
    bert_shape shape;
};

// Tolerances, relative L2 error (measured on CPU over 40 seeds: at most 2.2e-4, 7e-5, 2.2e-4 and
// cosine 1 - 2.5e-8; see the printed lines):
//   hidden states vs float64                   1e-3: K and V rounded to f16 (2^-11) for attention
//   hidden states vs float64 with f16 K/V      3e-4: f32 matmuls, LayerNorms and softmax only, typically
//                                              1e-7..1e-5; now and then a K or V element whose f32 value
//                                              lies near an f16 rounding midpoint rounds the other way than
//                                              the reference's, one f16 ulp, which gives the 7e-5 tail
//   embedding vs float64                       1e-3, cosine > 1 - 1e-6
// On CUDA the weights are f16 as well (cuBLAS f16 GEMMs): 10x looser.
void check_against_reference(backend& be, const bert_shape& shape, double loosen) {
    const uint32_t seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const bert_fixture f = random_bert(shape, rng);
    test::scratch_dir dir;
    write_model(dir.path(), f);
    auto enc = bert_encoder::open(dir.path(), be);
    ASSERT_EQ(enc->config().n_embd, shape.n_embd);
    ASSERT_EQ(enc->config().n_ctx, shape.n_ctx);
    // n = 1 (a query of one token), a short sentence, the whole context, then a short one again after
    // the buffers grew.
    for (int n : {1, 7, shape.n_ctx, 5}) {
        SCOPED_TRACE("n = " + std::to_string(n));
        const std::vector<int32_t> ids = random_ids(rng, n, shape.n_vocab);
        const std::vector<double> ref = reference_hidden(f, ids, false);
        const std::vector<double> ref16 = reference_hidden(f, ids, true);
        const std::vector<float> h = enc->hidden_states(ids);
        ASSERT_EQ(h.size(), ref.size());
        const double err = test::relative_error(h.data(), ref.data(), h.size());
        const double err16 = test::relative_error(h.data(), ref16.data(), h.size());
        const std::vector<float> e = enc->embed(ids);
        const std::vector<double> eref = pool(ref, n, shape.n_embd);
        const double eerr = test::relative_error(e.data(), eref.data(), e.size());
        const double cos = cosine(e, eref);
        std::printf("  %s n=%-3d hidden vs f64 %.2e, vs f64 with f16 K/V %.2e; embedding vs f64 %.2e, cosine 1-%.1e\n",
                    be.name().c_str(), n, err, err16, eerr, 1.0 - cos);
        EXPECT_LT(err, 1e-3 * loosen);
        EXPECT_LT(err16, 3e-4 * loosen);
        EXPECT_LT(eerr, 1e-3 * loosen);
        EXPECT_GT(cos, 1.0 - 1e-6 * loosen);
        double norm = 0.0;
        for (float v : e) norm += (double)v * v;
        EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-6);
    }
}

class bert_accuracy : public ::testing::TestWithParam<accuracy_case> {};

TEST_P(bert_accuracy, cpu_matches_float64_reference) {
    auto be = cpu();
    check_against_reference(*be, GetParam().shape, 1.0);
}

TEST_P(bert_accuracy, cuda_matches_float64_reference) {
    std::string why;
    auto be = cuda(&why);
    if (!be) GTEST_SKIP() << why;
    check_against_reference(*be, GetParam().shape, 10.0);
}

INSTANTIATE_TEST_SUITE_P(shapes, bert_accuracy,
                         ::testing::Values(
                             // The suggested small shape: head_dim 12 (the CPU's straight-loop attention).
                             accuracy_case{"h48_heads4", bert_shape{}},
                             // head_dim 32 as all-MiniLM-L6-v2 (the CPU's AVX-512 tile attention where built).
                             accuracy_case{"h64_heads2", bert_shape{61, 64, 2, 2, 128, 40, 2, 1e-12}}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(bert_encoder, refuses_bad_inputs_naming_the_model) {
    std::mt19937 rng(7);
    const bert_fixture f = random_bert(bert_shape{}, rng);
    test::scratch_dir dir;
    write_model(dir.path(), f);
    auto be = cpu();
    auto enc = bert_encoder::open(dir.path(), *be);
    const std::string d = dir.path().string();
    std::string m = error_of([&] { enc->embed(std::vector<int32_t>{}); });
    EXPECT_CONTAINS(m, d);
    EXPECT_CONTAINS(m, "no tokens");
    m = error_of([&] { enc->embed(std::vector<int32_t>(33, 1)); });
    EXPECT_CONTAINS(m, "33 tokens exceed");
    m = error_of([&] { enc->embed(std::vector<int32_t>{1, 50, 2}); });
    EXPECT_CONTAINS(m, "token id 50");
    m = error_of([&] { enc->embed(std::vector<int32_t>{1, -1, 2}); });
    EXPECT_CONTAINS(m, "token id -1");
    // Still usable after refusing.
    EXPECT_EQ(enc->embed(std::vector<int32_t>{1, 2, 3}).size(), 48u);
}

TEST(bert_encoder, non_finite_weights_give_an_error_not_a_nan_embedding) {
    std::mt19937 rng(9);
    bert_fixture f = random_bert(bert_shape{}, rng);
    f.w["encoder.layer.0.intermediate.dense.bias"][3] = NAN;
    test::scratch_dir dir;
    write_model(dir.path(), f);
    auto be = cpu();
    auto enc = bert_encoder::open(dir.path(), *be);
    const std::string m = error_of([&] { enc->embed(std::vector<int32_t>{1, 2, 3}); });
    EXPECT_CONTAINS(m, (dir / "model.safetensors").string());
    EXPECT_CONTAINS(m, "non-finite");
}

TEST(bert_encoder, embedding_is_independent_of_the_calls_before) {
    // The buffers are reused between calls: a long input then a short one must give what the short
    // one gives on a fresh encoder (no stale rows reach the attention or the mean).
    std::mt19937 rng(11);
    const bert_fixture f = random_bert(bert_shape{}, rng);
    test::scratch_dir dir;
    write_model(dir.path(), f);
    auto be = cpu();
    const std::vector<int32_t> shorter = {3, 9, 4}, longer = random_ids(rng, 30, 50);
    auto fresh = bert_encoder::open(dir.path(), *be);
    const std::vector<float> a = fresh->embed(shorter);
    auto used = bert_encoder::open(dir.path(), *be);
    used->embed(longer);
    EXPECT_EQ(used->embed(shorter), a);
}

TEST(bert_encoder, a_batch_of_sequences_gives_each_what_it_gives_alone) {
    // Sequences of different lengths in one call: each row equals that sequence's own forward pass
    // (its positions restart at 0, its attention sees only its own rows), checked against float64.
    std::mt19937 rng(std::random_device{}());
    const bert_fixture f = random_bert(bert_shape{}, rng);
    test::scratch_dir dir;
    write_model(dir.path(), f);
    auto be = cpu();
    auto enc = bert_encoder::open(dir.path(), *be);
    const std::vector<std::vector<int32_t>> seqs = {random_ids(rng, 7, 50), random_ids(rng, 1, 50), random_ids(rng, 32, 50),
                                                     random_ids(rng, 12, 50)};
    const std::vector<std::span<const int32_t>> spans(seqs.begin(), seqs.end());
    const std::vector<float> h = enc->hidden_states_batch(spans);
    const int E = f.s.n_embd;
    size_t row = 0;
    for (const auto& seq : seqs) {
        const std::vector<float> alone = enc->hidden_states(seq);
        const std::vector<double> ref = reference_hidden(f, seq, true);
        double err = 0, norm = 0;
        for (size_t i = 0; i < seq.size() * (size_t)E; ++i) {
            EXPECT_NEAR(h[row * (size_t)E + i], alone[i], 1e-5 * (1 + std::fabs(alone[i])));
            const double d = h[row * (size_t)E + i] - ref[i];
            err += d * d;
            norm += ref[i] * ref[i];
        }
        EXPECT_LT(std::sqrt(err / norm), 1e-4) << "sequence of " << seq.size();
        row += seq.size();
    }
    EXPECT_EQ(row * (size_t)E, h.size());
    EXPECT_THROW(enc->hidden_states_batch({}), epic::error);
}

// --- 2. hostile files ----------------------------------------------------------------------------------

class hostile : public ::testing::Test {
protected:
    void SetUp() override {
        std::mt19937 rng(3);
        f_ = random_bert(bert_shape{}, rng);
        be_ = cpu();
    }
    // model.safetensors written from `image`, config.json from the fixture; the open's error message.
    std::string open_with(const std::string& image) {
        test::write_file(dir_ / "config.json", config_text(config_keys(f_.s)));
        test::write_file(dir_ / "model.safetensors", image);
        return error_of([&] { bert_encoder::open(dir_.path(), *be_); });
    }
    std::string open_with_config(const std::map<std::string, std::string>& keys) {
        test::write_file(dir_ / "config.json", config_text(keys));
        test::write_file(dir_ / "model.safetensors", safetensors_image(f_.tensors()));
        return error_of([&] { bert_encoder::open(dir_.path(), *be_); });
    }
    std::string weights_path() const { return (dir_ / "model.safetensors").string(); }
    std::string config_path() const { return (dir_ / "config.json").string(); }

    bert_fixture f_;
    std::unique_ptr<backend> be_;
    test::scratch_dir dir_;
};

TEST_F(hostile, fixture_itself_loads) {
    test::write_file(dir_ / "config.json", config_text(config_keys(f_.s)));
    test::write_file(dir_ / "model.safetensors", safetensors_image(f_.tensors()));
    EXPECT_NO_THROW(bert_encoder::open(dir_.path(), *be_));
    auto st = safetensors_file::open(weights_path());
    EXPECT_EQ(st->metadata().at("format"), "pt");
    ASSERT_NE(st->find("embeddings.position_ids"), nullptr);
    EXPECT_EQ(st->find("embeddings.position_ids")->dtype, "I64");
    EXPECT_EQ(st->find("nope"), nullptr);
}

TEST_F(hostile, truncated_files) {
    const std::string good = safetensors_image(f_.tensors());
    std::string m = open_with(good.substr(0, 5));
    EXPECT_CONTAINS(m, weights_path());
    EXPECT_CONTAINS(m, "truncated");
    m = open_with(good.substr(0, 8 + 20)); // the length says more header than there is
    EXPECT_CONTAINS(m, weights_path());
    EXPECT_CONTAINS(m, "runs past the end of the file");
    m = open_with(good.substr(0, good.size() - 100)); // the last tensor's data cut short
    EXPECT_CONTAINS(m, weights_path());
    EXPECT_CONTAINS(m, "encoder.layer.1.output.LayerNorm.bias");
    EXPECT_CONTAINS(m, "outside");
    m = open_with("");
    EXPECT_CONTAINS(m, weights_path());
}

TEST_F(hostile, header_length_too_large) {
    std::string image = safetensors_image(f_.tensors());
    for (int i = 0; i < 8; ++i) image[(size_t)i] = (char)0xff; // 2^64 - 1
    std::string m = open_with(image);
    EXPECT_CONTAINS(m, weights_path());
    EXPECT_CONTAINS(m, "header length 18446744073709551615");
    // Within the file but past the limit needs a file that large; the limit's check is the same line.
}

TEST_F(hostile, bad_header_json) {
    auto expect = [&](const std::string& header, const std::string& data, const char* part) {
        const std::string m = open_with(safetensors_raw(header, data));
        EXPECT_CONTAINS(m, weights_path());
        EXPECT_CONTAINS(m, part);
    };
    expect("[1,2]", "", "does not start with '{'");
    expect("{\"a\": ", "", "header: not valid JSON: ");
    expect("{\"a\": \"\\u", "", "header: not valid JSON: ");         // a \u escape cut short
    expect("{\"a\": \"\\uD800\\u", "", "header: not valid JSON: "); // a surrogate pair cut short
    expect("{\"a\": 1e999}", "", "header: number overflow");        // beyond a double
    expect("{\"a\":" + std::string(100000, '[') + "}", "", "nested more than");
    expect("{\"t\": 3}", "", "tensor 't': its header entry is not a JSON object");
    expect("{\"t\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", "abcd", "no \"dtype\"");
    expect("{\"t\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", "abcd", "no \"shape\"");
    expect("{\"t\": {\"dtype\": \"F32\", \"shape\": [1]}}", "abcd", "no \"data_offsets\"");
    expect("{\"t\": {\"dtype\": \"Q4\", \"shape\": [1], \"data_offsets\": [0, 4]}}", "abcd", "unknown dtype 'Q4'");
    expect("{\"t\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", "abcd", "not a non-negative integer");
    expect("{\"t\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}", "abcd", "not a non-negative integer");
    expect("{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", "abcd", "exactly [begin, end]");
    expect("{\"__metadata__\": {\"format\": 3}}", "", "__metadata__ value 'format' is not a string");
    // 2^53 + 1, exact as an integer literal: past the bound, though as a double it would round to 2^53.
    expect("{\"t\": {\"dtype\": \"U8\", \"shape\": [9007199254740993], \"data_offsets\": [0, 4]}}", "abcd",
           "not a non-negative integer");
    // A whole float is an integer, as it always was.
    test::write_file(dir_ / "float_shape.safetensors",
                     safetensors_raw("{\"t\": {\"dtype\": \"F32\", \"shape\": [1.0], \"data_offsets\": [0, 4.0]}}", "abcd"));
    EXPECT_EQ(safetensors_file::open((dir_ / "float_shape.safetensors").string())->find("t")->shape, std::vector<int64_t>{1});
}

TEST_F(hostile, offsets_out_of_range_overlapping_or_leaving_holes) {
    auto expect = [&](const std::string& header, const std::string& data, std::vector<std::string> parts) {
        const std::string m = open_with(safetensors_raw(header, data));
        EXPECT_CONTAINS(m, weights_path());
        for (const std::string& p : parts) EXPECT_CONTAINS(m, p);
    };
    const std::string data(16, 'x');
    // Past the data section.
    expect("{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [16, 32]}}", data, {"'a'", "outside"});
    expect("{\"a\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [8, 4]}}", data, {"'a'", "outside"});
    expect("{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 1e300]}}", data, {"'a'", "integer"});
    // Byte count against dtype x shape.
    expect("{\"a\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 16]}}", data, {"'a'", "hold 16 bytes", "needs 12"});
    // Shape products that overflow 64 bits, or need more than the file.
    expect("{\"a\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], \"data_offsets\": [0, 16]}}", data,
           {"'a'", "more elements than 64 bits"});
    expect("{\"a\": {\"dtype\": \"F64\", \"shape\": [4503599627370496], \"data_offsets\": [0, 16]}}", data,
           {"'a'", "needs more bytes"});
    // Overlap, hole, trailing bytes.
    expect("{\"a\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 12]},"
           " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 16]}}",
           data, {"'b'", "overlaps tensor 'a'"});
    expect("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
           " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 16]}}",
           data, {"hole before tensor 'b'"});
    expect("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", data, {"last 8 bytes", "no tensor"});
    // Misaligned F32 data (after a 1-byte tensor): not readable as floats in place.
    expect("{\"a\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1]},"
           " \"b\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [1, 13]},"
           " \"c\": {\"dtype\": \"U8\", \"shape\": [3], \"data_offsets\": [13, 16]}}",
           data, {"'b'", "not aligned"});
}

TEST_F(hostile, missing_tensor_wrong_shape_or_dtype) {
    const std::string name = "encoder.layer.1.attention.self.key.weight";
    std::vector<st_tensor> ts = f_.tensors();
    std::vector<st_tensor> missing;
    for (const st_tensor& t : ts)
        if (t.name != name) missing.push_back(t);
    std::string m = open_with(safetensors_image(missing));
    EXPECT_CONTAINS(m, weights_path());
    EXPECT_CONTAINS(m, "tensor '" + name + "' is missing");

    std::vector<st_tensor> reshaped = ts;
    for (st_tensor& t : reshaped)
        if (t.name == name) t.shape = {24, 96}; // same bytes, other shape
    m = open_with(safetensors_image(reshaped));
    EXPECT_CONTAINS(m, weights_path());
    EXPECT_CONTAINS(m, "tensor '" + name + "' has shape [24, 96], expected [48, 48]");

    std::vector<st_tensor> halved = ts;
    for (st_tensor& t : halved)
        if (t.name == name) {
            t.dtype = "F16";
            t.bytes.resize(t.bytes.size() / 2);
        }
    m = open_with(safetensors_image(halved));
    EXPECT_CONTAINS(m, weights_path());
    EXPECT_CONTAINS(m, "tensor '" + name + "' is F16; only F32");

    // The word embeddings must have config.json's vocabulary.
    std::vector<st_tensor> vocab = ts;
    for (st_tensor& t : vocab)
        if (t.name == "embeddings.word_embeddings.weight") {
            t.shape = {49, 48};
            t.bytes.resize(t.bytes.size() - 48 * 4);
        }
    m = open_with(safetensors_image(vocab));
    EXPECT_CONTAINS(m, "tensor 'embeddings.word_embeddings.weight' has shape [49, 48], expected [50, 48]");

    // Layers beyond the config's count.
    std::vector<st_tensor> extra = ts;
    extra.push_back({"encoder.layer.2.output.dense.bias", "F32", {48}, std::string(48 * 4, '\0')});
    m = open_with(safetensors_image(extra));
    EXPECT_CONTAINS(m, weights_path());
    EXPECT_CONTAINS(m, "encoder.layer.2.output.dense.bias");
    EXPECT_CONTAINS(m, "beyond num_hidden_layers 2");
}

TEST_F(hostile, bad_config_json) {
    auto expect = [&](std::function<void(std::map<std::string, std::string>&)> change, const char* part) {
        std::map<std::string, std::string> keys = config_keys(f_.s);
        change(keys);
        const std::string m = open_with_config(keys);
        EXPECT_CONTAINS(m, config_path());
        EXPECT_CONTAINS(m, part);
    };
    expect([](auto& k) { k.erase("hidden_size"); }, "no \"hidden_size\"");
    expect([](auto& k) { k["hidden_size"] = "0"; }, "\"hidden_size\" must be an integer in [1, 16384]");
    expect([](auto& k) { k["num_hidden_layers"] = "-2"; }, "\"num_hidden_layers\" must be an integer");
    expect([](auto& k) { k["num_attention_heads"] = "2.5"; }, "\"num_attention_heads\" must be an integer");
    expect([](auto& k) { k["vocab_size"] = "\"50\""; }, "\"vocab_size\" must be an integer");
    expect([](auto& k) { k["intermediate_size"] = "1e12"; }, "\"intermediate_size\" must be an integer");
    expect([](auto& k) { k["max_position_embeddings"] = "1000000"; }, "\"max_position_embeddings\" must be an integer");
    expect([](auto& k) { k["num_attention_heads"] = "5"; }, "hidden_size 48 is not divisible by num_attention_heads 5");
    expect([](auto& k) { k["hidden_act"] = "\"relu\""; }, "hidden_act 'relu' is not supported");
    expect([](auto& k) { k["hidden_act"] = "\"gelu_new\""; }, "hidden_act 'gelu_new' is not supported");
    expect([](auto& k) { k["layer_norm_eps"] = "0"; }, "\"layer_norm_eps\" must be a number in (0, 1)");
    expect([](auto& k) { k["layer_norm_eps"] = "-1e-5"; }, "\"layer_norm_eps\"");
    expect([](auto& k) { k["position_embedding_type"] = "\"relative_key\""; }, "position_embedding_type 'relative_key'");
    expect([](auto& k) { k["model_type"] = "\"roberta\""; }, "model_type 'roberta' is not supported");
    expect([](auto& k) { k["hidden_size"] = std::string(5000, '[') + std::string(5000, ']'); }, "nested more than");

    // Not JSON at all, not an object, absent.
    test::write_file(dir_ / "config.json", "{\"hidden_size\": ");
    std::string m = error_of([&] { bert_encoder::open(dir_.path(), *be_); });
    EXPECT_CONTAINS(m, config_path());
    test::write_file(dir_ / "config.json", "[1, 2]");
    m = error_of([&] { bert_encoder::open(dir_.path(), *be_); });
    EXPECT_CONTAINS(m, config_path());
    EXPECT_CONTAINS(m, "not a JSON object");
    std::filesystem::remove(dir_ / "config.json");
    m = error_of([&] { bert_encoder::open(dir_.path(), *be_); });
    EXPECT_CONTAINS(m, config_path());
}

TEST_F(hostile, pooling_other_than_mean) {
    test::write_file(dir_ / "1_Pooling" / "config.json",
                     "{\"word_embedding_dimension\": 48, \"pooling_mode_cls_token\": true, \"pooling_mode_mean_tokens\": false}");
    const std::string m = open_with(safetensors_image(f_.tensors()));
    EXPECT_CONTAINS(m, (dir_ / "1_Pooling" / "config.json").string());
    EXPECT_CONTAINS(m, "pools other than by the plain mean");
    test::write_file(dir_ / "1_Pooling" / "config.json",
                     "{\"word_embedding_dimension\": 48, \"pooling_mode_mean_tokens\": true}");
    EXPECT_NO_THROW(bert_encoder::open(dir_.path(), *be_));
}

TEST_F(hostile, not_a_regular_file) {
    test::write_file(dir_ / "config.json", config_text(config_keys(f_.s)));
    std::filesystem::create_directories(dir_ / "model.safetensors");
    const std::string m = error_of([&] { bert_encoder::open(dir_.path(), *be_); });
    EXPECT_CONTAINS(m, weights_path());
}

// --- 3. the real all-MiniLM-L6-v2 against numpy ------------------------------------------------------

void check_real_model(backend& be, double max_rel, double min_cos, bool time_it) {
    const std::filesystem::path dir = test::local_model("all-minilm-l6-v2");
    EPIC_REQUIRE_MODEL(dir / "model.safetensors");
    const json ref = parse_json_file(std::string(EPIC_SOURCE_DIR) + "/tests/data/embed/minilm_reference.json");
    auto enc = bert_encoder::open(dir, be);
    EXPECT_EQ(enc->config().n_embd, 384);
    EXPECT_EQ(enc->config().n_layer, 6);
    EXPECT_EQ(enc->config().n_head, 12);
    std::vector<std::vector<float>> embs;
    double worst_rel = 0.0, worst_cos = 1.0;
    const std::vector<int32_t>* longest = nullptr;
    std::vector<std::vector<int32_t>> all_ids;
    for (const json& in : ref.at("inputs")) {
        const std::vector<int> v = in.at("ids").get<std::vector<int>>();
        all_ids.emplace_back(v.begin(), v.end());
    }
    for (size_t i = 0; i < all_ids.size(); ++i) {
        const json& in = ref.at("inputs")[i];
        const std::vector<int32_t>& ids = all_ids[i];
        const std::vector<double> want = in.at("embedding").get<std::vector<double>>();
        const std::vector<float> got = enc->embed(ids);
        ASSERT_EQ(got.size(), want.size());
        const double rel = test::relative_error(got.data(), want.data(), got.size());
        const double cos = cosine(got, want);
        std::printf("  %s %3zu tokens: rel error vs numpy float64 %.2e, cosine 1-%.1e  (%s)\n", be.name().c_str(),
                    ids.size(), rel, 1.0 - cos, in.at("text").get<std::string>().substr(0, 40).c_str());
        EXPECT_LT(rel, max_rel) << in.at("text").get<std::string>();
        EXPECT_GT(cos, min_cos) << in.at("text").get<std::string>();
        worst_rel = std::max(worst_rel, rel);
        worst_cos = std::min(worst_cos, cos);
        embs.push_back(got);
        if (!longest || ids.size() > longest->size()) longest = &ids;
    }
    std::printf("  %s worst: rel error %.2e, cosine 1-%.1e\n", be.name().c_str(), worst_rel, 1.0 - worst_cos);
    // The retrieval property on our own output: the paraphrases (inputs 0 and 1) are the closest pair.
    auto dot = [](const std::vector<float>& a, const std::vector<float>& b) {
        double s = 0.0;
        for (size_t i = 0; i < a.size(); ++i) s += (double)a[i] * b[i];
        return s;
    };
    const double para = dot(embs[0], embs[1]);
    for (size_t i = 0; i < embs.size(); ++i)
        for (size_t j = i + 1; j < embs.size(); ++j)
            if (!(i == 0 && j == 1)) {
                EXPECT_GT(para, dot(embs[i], embs[j])) << i << " " << j;
            }
    if (time_it && longest) {
        enc->embed(*longest); // warm: buffers allocated, pages of the mapping read
        const auto t0 = std::chrono::steady_clock::now();
        enc->embed(*longest);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        std::printf("  embed(%zu tokens) on %s: %.1f ms (one run after a warm-up)\n", longest->size(), be.name().c_str(), ms);
    }
}

TEST(bert_minilm, cpu_matches_numpy_float64) {
    auto be = cpu();
    check_real_model(*be, 1e-3, 0.9999, true);
}

TEST(bert_minilm, cuda_matches_numpy_float64) {
    std::string why;
    auto be = cuda(&why);
    if (!be) GTEST_SKIP() << why;
    // f16 weights and activations in the GEMMs.
    check_real_model(*be, 1e-2, 0.9995, true);
}

} // namespace
} // namespace epic
