#pragma once
// What most commands start from: a model, its tokenizer, a backend and a transformer over them.
#include "backend/backend.h"
#include "cli/args.h"
#include "forward/transformer.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

#include <memory>
#include <string>

namespace epic::cli {

struct session {
    std::unique_ptr<model> mdl;
    std::unique_ptr<tokenizer> tok;
    std::unique_ptr<backend> be;
    std::unique_ptr<transformer> tf;
};

// --model, else the default model (core/paths.h: the XDG models folder, or models/ in a build tree).
// Throws epic::error saying how to get one when there is none.
std::string model_path(const args& a);
// --library, else the XDG data library (~/.local/share/epic-desktop/library), shared with the GUI.
std::string library_path(const args& a);

// The backend parameters of --device and --threads over the environment's (EPIC_DEVICE, EPIC_THREADS).
backend_params session_backend_params(const args& a);

// Options it reads: --model (default: model_path), --threads, --device; the environment (EPIC_DEVICE,
// EPIC_THREADS) supplies defaults.
session open_session(const args& a);
// The option names open_session understands (for allow_only).
const std::set<std::string>& session_options();

} // namespace epic::cli
