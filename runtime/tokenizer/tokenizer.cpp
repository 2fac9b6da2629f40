// The factories that load sentencepiece models from files or memory (from_gguf lives in
// tokenizer_gguf.cpp).
#include "tokenizer/tokenizer.h"

#include "common/error.h"
#include "core/read_file.h"
#include "tokenizer/spm_model_proto.h"
#include "tokenizer/tokenizer_spm.h"

namespace epic {
namespace {

// The id of a trainer_spec special token when it names a control piece; -1 otherwise (sentencepiece
// itself treats bos/eos that are absent or not control symbols as missing).
int32_t control_id(const spm_model& m, int32_t id) {
    if (id < 0 || static_cast<size_t>(id) >= m.pieces.size()) return -1;
    return m.pieces[static_cast<size_t>(id)].type == spm_piece_type::control ? id : -1;
}

} // namespace

std::unique_ptr<tokenizer> tokenizer::from_spm_proto(const std::string& serialized, const std::string& name) {
    const spm_model model = spm_parse(serialized, name);
    if (model.pieces.empty()) throw error(name + ": sentencepiece model has no pieces");
    spm_tokenizer_options options;
    options.bos = control_id(model, model.bos_id);
    options.eos = control_id(model, model.eos_id);
    options.add_bos_default = options.bos >= 0; // what Llama-family tokenizer.model users expect
    return std::make_unique<spm_tokenizer>(serialized, model, name, options);
}

std::unique_ptr<tokenizer> tokenizer::from_spm_file(const std::string& path) {
    return from_spm_proto(read_file_text(path), path); // never blocks on a FIFO
}

} // namespace epic
