#pragma once
// Where the real reference models live (../shared/models beside the project, or $EPIC_SHARED_MODELS).
// Tests that need them call EPIC_REQUIRE_SHARED(path) which GTEST_SKIPs with a message when absent.
// The user-facing model GGUFs (SmolLM2, Gemma 3, Qwen2.5...) live in models/ in the source tree, or
// $EPIC_MODELS_DIR; tests that need one call EPIC_REQUIRE_MODEL(path).
#include <filesystem>
#include <string>
#include <string_view>

namespace epic::test {

// Writes `content` to `file` (binary, replacing it), creating its folders: every test's fixture writer.
void write_file(const std::filesystem::path& file, std::string_view content);

std::filesystem::path shared_models_dir();
// Full path of a file under the shared models folder (may not exist).
std::filesystem::path shared_model(const std::string& relative);
std::filesystem::path models_dir();
// Full path of a model file under models_dir() (may not exist).
std::filesystem::path local_model(const std::string& file);
// A fresh empty temporary folder for one test, removed by the caller's scratch_dir destructor.
class scratch_dir {
public:
    scratch_dir();
    ~scratch_dir();
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
private:
    std::filesystem::path path_;
};

} // namespace epic::test

#define EPIC_REQUIRE_SHARED(p)                                                                          \
    do {                                                                                                \
        if (!std::filesystem::exists(p))                                                                \
            GTEST_SKIP() << "shared model data not found: " << (p).string()                            \
                         << " (set EPIC_SHARED_MODELS or place ../shared/models beside the project)";   \
    } while (0)

#define EPIC_REQUIRE_MODEL(p)                                                                           \
    do {                                                                                                \
        if (!std::filesystem::exists(p))                                                                \
            GTEST_SKIP() << "model file not found: " << (p).string()                                   \
                         << " (place it in models/ or set EPIC_MODELS_DIR)";                           \
    } while (0)
