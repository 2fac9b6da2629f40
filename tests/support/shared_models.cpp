#include "support/shared_models.h"

#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>

namespace epic::test {

std::filesystem::path shared_models_dir() {
    if (const char* env = std::getenv("EPIC_SHARED_MODELS"); env && *env) return env;
    return std::filesystem::path(EPIC_SOURCE_DIR) / ".." / "shared" / "models";
}

std::filesystem::path shared_model(const std::string& relative) { return shared_models_dir() / relative; }

std::filesystem::path models_dir() {
    if (const char* env = std::getenv("EPIC_MODELS_DIR"); env && *env) return env;
    return std::filesystem::path(EPIC_SOURCE_DIR) / "models";
}

std::filesystem::path local_model(const std::string& file) { return models_dir() / file; }

void write_file(const std::filesystem::path& file, std::string_view content) {
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
    std::ofstream f(file, std::ios::binary | std::ios::trunc);
    f.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!f) throw std::runtime_error(file.string() + ": cannot write the test fixture");
}

scratch_dir::scratch_dir() {
    std::random_device rd;
    const auto base = std::filesystem::temp_directory_path();
    for (int attempt = 0; attempt < 100; ++attempt) {
        auto p = base / ("epic-test-" + std::to_string(rd()) + std::to_string(rd()));
        if (std::filesystem::create_directory(p)) { path_ = p; return; }
    }
    throw std::runtime_error("cannot create a scratch folder in " + base.string());
}

scratch_dir::~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

} // namespace epic::test
