#pragma once
// Where EPIC desktop keeps things, shared by the CLI and the GUI so both see the same library and models.
//   user data (library, models):  $XDG_DATA_HOME/epic-desktop    (default ~/.local/share/epic-desktop)
//   settings:                     $XDG_CONFIG_HOME/epic-desktop  (default ~/.config/epic-desktop)
//   caches (downloads):           $XDG_CACHE_HOME/epic-desktop   (default ~/.cache/epic-desktop)
//   read-only resources:          <prefix>/share/epic-desktop when installed, else the source tree
// Nothing is ever written next to the binary. The environment is read in one place
// (path_environment_from_process); everything else is a pure function of its arguments, so tests
// pass their own environment.
#include <filesystem>
#include <optional>
#include <string>

namespace epic {

// The variables the locations depend on (empty = unset).
struct path_environment {
    std::string home;
    std::string xdg_data_home;
    std::string xdg_config_home;
    std::string xdg_cache_home;
};

path_environment path_environment_from_process();

struct app_paths {
    std::filesystem::path data_dir;    // library/ and models/ live here
    std::filesystem::path config_dir;  // epic-desktop.conf (GUI settings)
    std::filesystem::path cache_dir;

    std::filesystem::path library_dir() const { return data_dir / "library"; }
    std::filesystem::path models_dir() const { return data_dir / "models"; }
    std::filesystem::path settings_file() const { return config_dir / "epic-desktop.conf"; }
};

// Per the XDG base directory spec: a variable that is unset, empty or not absolute is ignored. Throws
// epic::error when neither the XDG variable nor HOME gives an absolute folder.
app_paths app_paths_from(const path_environment& env);

// The read-only files shipped with the app.
struct resource_locations {
    std::filesystem::path root;              // <prefix>/share/epic-desktop, or the source tree
    std::filesystem::path sample_library;    // the Tidewater Instruments fact sheets
    std::filesystem::path facts;             // sample_library/facts.json (epic-make-qa-set)
    std::filesystem::path get_models_script; // installer/get-models.sh
    std::filesystem::path models_in_tree;    // <source>/models in a build tree; empty when installed
    bool installed = false;
};

// Looks beside the executable first (<exe dir>/../share/epic-desktop: an installed or unpacked
// package, wherever its prefix is), then in `source_dir` (a build tree; empty = do not look). nullopt
// when neither holds the sample library.
std::optional<resource_locations> find_resources(const std::filesystem::path& executable,
                                                 const std::filesystem::path& source_dir);

// The source tree this binary was built from, when the build allows the fallback (CMake option
// EPIC_SOURCE_RESOURCES, off for packages); empty otherwise.
std::filesystem::path build_source_dir();

// /proc/self/exe resolved; empty if it cannot be read.
std::filesystem::path current_executable();

// The default model: the catalog's recommended model (core/model_catalog.h), else any other catalog
// model, in catalog order, whichever is present first; each looked for in <models_dir>, then in
// <source>/models. nullopt when none is there.
std::optional<std::filesystem::path> find_default_model(const app_paths& paths,
                                                        const std::optional<resource_locations>& resources);

} // namespace epic
