#include "embed/embedder_files.h"

#include "common/xxhash64.h"
#include "common/error.h"
#include "core/mapped_file.h"


namespace epic {

bool embedder_present(const std::filesystem::path& dir) {
    std::error_code ec;
    for (const char* f : embedder_files)
        if (!std::filesystem::is_regular_file(dir / f, ec)) return false;
    return true;
}

std::filesystem::path find_embedder_dir(const app_paths& paths, const std::optional<resource_locations>& resources) {
    const std::filesystem::path user = paths.models_dir() / default_embedder_folder;
    if (embedder_present(user)) return user;
    if (resources && !resources->models_in_tree.empty() && embedder_present(resources->models_in_tree / default_embedder_folder))
        return resources->models_in_tree / default_embedder_folder;
    return user;
}

std::string embedder_fingerprint(const std::filesystem::path& dir) {
    storage::xxh64_stream h;
    for (const char* name : embedder_files) {
        // Mapped, not read: the weights are 90 MB, and the page cache already holds them once loaded.
        const mapped_file file = mapped_file::open((dir / name).string());
        h.add(name).add(std::to_string(file.size())).add(file.data(), file.size());
    }
    return "minilm-" + storage::hex64(h.digest());
}

} // namespace epic
