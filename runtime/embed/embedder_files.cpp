#include "embed/embedder_files.h"

#include "common/xxhash64.h"
#include "core/error.h"

#include <fstream>
#include <vector>

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
    std::vector<char> buf(1 << 20);
    for (const char* name : embedder_files) {
        const std::filesystem::path file = dir / name;
        std::ifstream in(file, std::ios::binary);
        std::error_code ec;
        const auto size = std::filesystem::file_size(file, ec);
        if (!in || ec) throw error(file.string() + ": the embedding model's " + name + " cannot be read");
        h.add(name).add(std::to_string(size));
        while (in) {
            in.read(buf.data(), (std::streamsize)buf.size());
            h.add(buf.data(), (size_t)in.gcount());
        }
        if (in.bad()) throw error(file.string() + ": read error");
    }
    return "minilm-" + storage::hex64(h.digest());
}

} // namespace epic
