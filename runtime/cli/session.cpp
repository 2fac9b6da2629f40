#include "cli/session.h"

#include "backend/settings.h"

namespace epic::cli {

const std::set<std::string>& session_options() {
    static const std::set<std::string> names = {"model", "threads", "device"};
    return names;
}

session open_session(const args& a) {
    session s;
    s.mdl = model::load(a.require("model"));
    s.tok = tokenizer::from_gguf(s.mdl->file());
    backend_params bp = backend_params_from_environment(backend_default_params());
    bp.n_threads = a.get_int("threads", bp.n_threads);
    bp.device = a.get_or("device", bp.device);
    s.be = create_backend(bp);
    s.tf = std::make_unique<transformer>(*s.mdl, *s.be);
    return s;
}

} // namespace epic::cli
