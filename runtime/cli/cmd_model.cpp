// epic info, epic tokenize, epic make-model.
#include "cli/commands.h"
#include "cli/session.h"
#include "common/error.h"
#include "gguf/gguf_file.h"
#include "model/random_model.h"

#include <cstdio>

namespace epic::cli {

int cmd_info(const info_args& a) {
    auto m = model::load(model_path(a.session));
    const model_config& c = m->config();
    std::printf("file:          %s (GGUF v%u, %.1f MiB)\n", m->path().c_str(), m->file().version(),
                m->file().file_size() / 1048576.0);
    std::printf("name:          %s\n", c.name.empty() ? "(none)" : c.name.c_str());
    std::printf("architecture:  %s\n", c.arch.c_str());
    int64_t n_params = 0;
    for (const auto& t : m->file().tensors()) n_params += t.n_elements();
    std::printf("parameters:    %.2f M (matmul weights %.2f M)\n", n_params / 1e6, c.matmul_params() / 1e6);
    std::printf("layers:        %d\n", c.n_layer);
    std::printf("width:         %d (ffn %d)\n", c.n_embd, c.n_ff);
    std::printf("heads:         %d query, %d key/value, head dim %d, rope dims %d\n", c.n_head, c.n_head_kv, c.head_dim,
                c.n_rot);
    std::printf("vocabulary:    %d\n", c.n_vocab);
    std::printf("context:       %d\n", c.n_ctx_train);
    std::printf("rope base:     %g%s\n", c.rope_base, c.rope_freq_factors.empty() ? "" : " (with rope_freqs scaling)");
    std::printf("rms epsilon:   %g\n", c.rms_eps);
    std::printf("output:        %s\n", c.tied_output ? "tied to token_embd" : "own matrix");
    std::printf("weights:       %.1f MiB\n", m->weight_bytes() / 1048576.0);
    std::printf("tensor types: ");
    for (auto [t, n] : m->tensor_type_counts()) std::printf(" %s x%d", type_name(t), n);
    std::printf("\nfingerprint:   %s\n", m->fingerprint().c_str());
    // Which backend the other commands would run on: "auto" falls back to the CPU silently, so say it.
    // No weight is uploaded; a device that cannot be used is reported, not fatal, as info is for looking.
    try {
        std::printf("backend:       %s\n", create_backend(session_backend_params(a.session))->name().c_str());
    } catch (const std::exception& e) {
        std::printf("backend:       unavailable: %s\n", e.what());
    }
    return 0;
}

int cmd_tokenize(const tokenize_args& a) {
    auto file = gguf_file::open(model_path(a.session));
    auto tok = tokenizer::from_gguf(*file);
    const auto ids = tok->encode(a.text, a.bos.add_bos(tok->add_bos_default()));
    for (size_t i = 0; i < ids.size(); ++i) std::printf(i ? " %d" : "%d", ids[i]);
    std::printf("\n");
    return 0;
}

int cmd_make_model(const make_model_args& a) {
    random_model_params p = random_model_shape(a.shape);
    if (const auto& t = a.type) {
        auto parsed = parse_type_name(*t);
        if (!parsed) throw error("unknown tensor type '" + *t + "'");
        p.type = *parsed;
        p.embd_type = *parsed;
    }
    if (const auto& t = a.embd_type) {
        auto parsed = parse_type_name(*t);
        if (!parsed) throw error("unknown tensor type '" + *t + "'");
        p.embd_type = *parsed;
    }
    p.seed = (uint64_t)a.seed;
    p.n_layer = a.layers.value_or(p.n_layer);
    p.n_vocab = a.vocab.value_or(p.n_vocab);
    p.tied_output = a.tied;
    const std::string& out = a.out;
    if (out.empty()) throw error("--out needs a file name");
    write_random_model(out, p);
    std::printf("wrote %s (%s, %d layers, width %d, %s)\n", out.c_str(), p.name.c_str(), p.n_layer, p.n_embd, type_name(p.type));
    return 0;
}

} // namespace epic::cli
