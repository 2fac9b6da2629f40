// epic paths: where things are, so a user (or a bug report) can see which library, models and
// resources this binary uses without reading the code.
#include "cli/commands.h"
#include "core/model_catalog.h"
#include "core/paths.h"

#include <cstdio>
#include <filesystem>

namespace epic::cli {

int cmd_paths(const paths_args&) {
    const app_paths p = app_paths_from(path_environment_from_process());
    const auto r = find_resources(current_executable(), build_source_dir());
    const auto model = find_default_model(p, r);
    std::printf("library:       %s\n", p.library_dir().c_str());
    std::printf("models:        %s\n", p.models_dir().c_str());
    std::printf("default model: %s\n", model ? model->c_str() : "(not present)");
    std::printf("settings:      %s\n", p.settings_file().c_str());
    std::printf("cache:         %s\n", p.cache_dir.c_str());
    if (r) {
        std::printf("resources:     %s (%s)\n", r->root.c_str(), r->installed ? "installed" : "source tree");
        std::printf("samples:       %s\n", r->sample_library.c_str());
        std::printf("get-models:    %s\n", r->get_models_script.c_str());
    } else {
        std::printf("resources:     (not found beside %s)\n", current_executable().c_str());
    }
    // The catalog: what get-models.sh NAME (or the app's first run) fetches, and what is here already.
    std::printf("models offered (get-models.sh NAME):\n");
    for (const catalog_model& m : model_catalog()) {
        const bool here = std::filesystem::is_regular_file(p.models_dir() / m.file) ||
                          (r && !r->models_in_tree.empty() && std::filesystem::is_regular_file(r->models_in_tree / m.file));
        std::printf("  %-19s %-28s %7s  %s%s\n    %s\n", m.name, m.title, size_text(m.bytes).c_str(),
                    here ? "present" : "not present", m.name == recommended_model_name ? ", recommended" : "",
                    m.expectation);
    }
    return 0;
}

} // namespace epic::cli
