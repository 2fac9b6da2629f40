#pragma once
// What most commands start from: a model, its tokenizer, a backend and a transformer over them.
#include "backend/backend.h"
#include "cli/args.h"
#include "forward/transformer.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

#include <memory>

namespace epic::cli {

struct session {
    std::unique_ptr<model> mdl;
    std::unique_ptr<tokenizer> tok;
    std::unique_ptr<backend> be;
    std::unique_ptr<transformer> tf;
};

// Options it reads: --model (required), --threads, --device; the environment (EPIC_DEVICE,
// EPIC_THREADS) supplies defaults.
session open_session(const args& a);
// The option names open_session understands (for allow_only).
const std::set<std::string>& session_options();

} // namespace epic::cli
