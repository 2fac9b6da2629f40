#include "core/paths.h"

#include "common/error.h"
#include "core/model_catalog.h"

#include <cstdlib>
#include <system_error>

namespace epic {
namespace fs = std::filesystem;

namespace {

std::string env_or_empty(const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

// $VAR/epic-desktop when VAR is absolute, else $HOME/<fallback>/epic-desktop (the spec says relative
// values are invalid and must be ignored).
fs::path xdg_dir(const std::string& var_value, const char* var_name, const std::string& home, const char* fallback) {
    if (!var_value.empty() && fs::path(var_value).is_absolute()) return fs::path(var_value) / "epic-desktop";
    if (home.empty() || !fs::path(home).is_absolute())
        throw error(std::string("cannot place EPIC desktop's files: neither ") + var_name +
                    " nor HOME names an absolute folder");
    return fs::path(home) / fallback / "epic-desktop";
}

bool is_file(const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec);
}

bool is_dir(const fs::path& p) {
    std::error_code ec;
    return fs::is_directory(p, ec);
}

} // namespace

path_environment path_environment_from_process() {
    path_environment e;
    e.home = env_or_empty("HOME");
    e.xdg_data_home = env_or_empty("XDG_DATA_HOME");
    e.xdg_config_home = env_or_empty("XDG_CONFIG_HOME");
    e.xdg_cache_home = env_or_empty("XDG_CACHE_HOME");
    return e;
}

app_paths app_paths_from(const path_environment& env) {
    app_paths p;
    p.data_dir = xdg_dir(env.xdg_data_home, "XDG_DATA_HOME", env.home, ".local/share");
    p.config_dir = xdg_dir(env.xdg_config_home, "XDG_CONFIG_HOME", env.home, ".config");
    p.cache_dir = xdg_dir(env.xdg_cache_home, "XDG_CACHE_HOME", env.home, ".cache");
    return p;
}

std::optional<resource_locations> find_resources(const fs::path& executable, const fs::path& source_dir) {
    if (!executable.empty()) {
        // bin/epic -> share/epic-desktop: works for /usr, /usr/local and a package unpacked anywhere.
        const fs::path share = executable.parent_path().parent_path() / "share" / "epic-desktop";
        if (is_dir(share / "sample-library")) {
            resource_locations r;
            r.root = share;
            r.sample_library = share / "sample-library";
            r.facts = r.sample_library / "facts.json";
            r.get_models_script = share / "get-models.sh";
            r.installed = true;
            return r;
        }
    }
    if (!source_dir.empty() && is_dir(source_dir / "resources" / "sample-library")) {
        resource_locations r;
        r.root = source_dir;
        r.sample_library = source_dir / "resources" / "sample-library";
        r.facts = r.sample_library / "facts.json";
        r.get_models_script = source_dir / "installer" / "get-models.sh";
        r.models_in_tree = source_dir / "models";
        return r;
    }
    return std::nullopt;
}

fs::path build_source_dir() {
#ifdef EPIC_BUILD_SOURCE_DIR
    return fs::path(EPIC_BUILD_SOURCE_DIR);
#else
    return {};
#endif
}

fs::path current_executable() {
    std::error_code ec;
    fs::path p = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : p;
}

std::optional<fs::path> find_default_model(const app_paths& paths, const std::optional<resource_locations>& resources) {
    // A user who fetched only another model (or whose first run chose it) still gets a working default.
    auto present = [&](const catalog_model& m) -> std::optional<fs::path> {
        if (fs::path p = paths.models_dir() / m.file; is_file(p)) return p;
        if (resources && !resources->models_in_tree.empty())
            if (fs::path p = resources->models_in_tree / m.file; is_file(p)) return p;
        return std::nullopt;
    };
    if (auto p = present(recommended_model())) return p;
    for (const catalog_model& m : model_catalog())
        if (auto p = present(m)) return p;
    return std::nullopt;
}

} // namespace epic
