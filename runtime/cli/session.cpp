#include "cli/session.h"

#include "backend/settings.h"
#include "common/error.h"
#include "core/model_catalog.h"
#include "core/paths.h"

namespace epic::cli {

std::string model_path(const session_options& o) {
    if (o.model) return *o.model;
    const app_paths paths = app_paths_from(path_environment_from_process());
    const auto resources = find_resources(current_executable(), build_source_dir());
    if (auto m = find_default_model(paths, resources)) return m->string();
    std::string where = paths.models_dir().string();
    if (resources && !resources->models_in_tree.empty()) where += " nor " + resources->models_in_tree.string();
    std::string fetch = "installer/get-models.sh";
    if (resources) fetch = resources->get_models_script.string();
    const catalog_model& rec = recommended_model();
    throw error("no --model given and no model of the catalog is there (neither " + where +
                " holds one); pass --model FILE.gguf, or fetch the recommended one (" + rec.title + ", " +
                size_text(rec.bytes) + ") with `EPIC_MODELS_DIR=" + paths.models_dir().string() + " bash " + fetch +
                " " + rec.name + "` (or start epic-desktop, which offers a choice)");
}

std::string library_path(const library_options& o) {
    if (o.library) return *o.library;
    return app_paths_from(path_environment_from_process()).library_dir().string();
}

backend_params session_backend_params(const session_options& o) {
    backend_params bp = backend_params_from_environment(backend_default_params());
    bp.n_threads = o.threads.value_or(bp.n_threads);
    bp.device = o.device.value_or(bp.device);
    return bp;
}

session open_session(const session_options& o) {
    session s;
    s.mdl = model::load(model_path(o));
    s.tok = tokenizer::from_gguf(s.mdl->file());
    s.be = create_backend(session_backend_params(o));
    // Checks that the model fits the backend's free memory before any weight is uploaded.
    s.tf = std::make_unique<transformer>(*s.mdl, *s.be);
    return s;
}

} // namespace epic::cli
