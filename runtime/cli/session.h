#pragma once
// What most commands start from: a model, its tokenizer, a backend and a transformer over them.
#include "backend/backend.h"
#include "cli/commands.h"
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
std::string model_path(const session_options& o);
// --library, else the XDG data library (~/.local/share/epic-desktop/library), shared with the GUI.
std::string library_path(const library_options& o);

// The backend parameters of --device and --threads over the environment's (EPIC_DEVICE, EPIC_THREADS).
backend_params session_backend_params(const session_options& o);

// The model of --model (default: model_path) on the backend of --threads and --device; the
// environment (EPIC_DEVICE, EPIC_THREADS) supplies defaults.
session open_session(const session_options& o);

} // namespace epic::cli
