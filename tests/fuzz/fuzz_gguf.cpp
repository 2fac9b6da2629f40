// libFuzzer target: the GGUF reader on arbitrary bytes (gguf_file::from_bytes), then everything a
// loader reads from a parsed file: every value through the typed getters, the first and last byte
// of every tensor, and the model configuration (read_model_config: the hyperparameter checks).
// Anything but epic::error escaping, or an error that does not name the file, is a finding.
#include "common/error.h"
#include "gguf/gguf_file.h"
#include "model/model_config.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

constexpr const char* file_name = "fuzz.gguf";

void check_names_file(const epic::error& e) {
    if (std::string(e.what()).find(file_name) == std::string::npos) {
        std::fprintf(stderr, "epic::error without the file name: %s\n", e.what());
        std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace epic;
    std::unique_ptr<gguf_file> f;
    try {
        f = gguf_file::from_bytes(std::vector<uint8_t>(data, data + size), file_name);
    } catch (const error& e) {
        check_names_file(e);
        return 0;
    }
    unsigned sink = 0;
    for (const auto& kv : f->metadata()) {
        try { if (auto v = f->get_int(kv.key)) sink += (unsigned)*v; } catch (const error& e) { check_names_file(e); }
        try { if (auto v = f->get_float(kv.key)) sink += (unsigned)(*v > 0); } catch (const error& e) { check_names_file(e); }
        try { if (auto v = f->get_string(kv.key)) sink += (unsigned)v->size(); } catch (const error& e) { check_names_file(e); }
        try { if (auto v = f->get_string_array(kv.key)) sink += (unsigned)v->size(); } catch (const error& e) { check_names_file(e); }
        try { if (auto v = f->get_float_array(kv.key)) sink += (unsigned)v->size(); } catch (const error& e) { check_names_file(e); }
        try { if (auto v = f->get_int_array(kv.key)) sink += (unsigned)v->size(); } catch (const error& e) { check_names_file(e); }
    }
    for (const auto& t : f->tensors())
        if (t.nbytes > 0) sink += t.data[0] + t.data[t.nbytes - 1]; // ASan: inside the buffer
    try {
        const model_config c = read_model_config(*f);
        // What the runtime then sizes from it must not overflow (model_config.h: widths below 2^20).
        if (c.q_width() <= 0 || c.kv_width() <= 0 || c.n_layer <= 0 || c.n_vocab <= 0 || c.n_rot > c.head_dim) {
            std::fprintf(stderr, "read_model_config accepted a degenerate configuration\n");
            std::abort();
        }
        sink += (unsigned)c.matmul_params();
    } catch (const error& e) {
        check_names_file(e);
    }
    volatile unsigned keep = sink;
    (void)keep;
    return 0;
}
