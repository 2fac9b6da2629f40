#pragma once
// Where the retrieval embedding model lives and what identifies it. The model is a folder (as the
// sentence-transformers package ships it; installer/get-models.sh unpacks it): config.json,
// model.safetensors and tokenizer.json. Its fingerprint keys the library's chunk vectors, so the
// vectors of two models never mix and a changed model re-embeds the library lazily.
#include "core/paths.h"

#include <filesystem>
#include <optional>
#include <string>

namespace epic {

// The folder name installer/get-models.sh gives the default embedding model (all-MiniLM-L6-v2).
inline constexpr const char* default_embedder_folder = "all-minilm-l6-v2";

// The default embedding model's folder: <models_dir>/all-minilm-l6-v2 when present, else
// <source>/models/all-minilm-l6-v2 in a build tree when present, else the first (absent: retrieval
// falls back to BM25 and says where it looked).
std::filesystem::path find_embedder_dir(const app_paths& paths, const std::optional<resource_locations>& resources);

// The files a model folder must hold, in the order the fingerprint hashes them.
inline constexpr const char* embedder_files[] = {"config.json", "tokenizer.json", "model.safetensors"};

// True when `dir` holds every file of embedder_files.
bool embedder_present(const std::filesystem::path& dir);

// "minilm-<16 hex digits>": XXH64 over the three files' bytes, each preceded by its name and size.
// Throws epic::error naming the file that is missing or unreadable.
std::string embedder_fingerprint(const std::filesystem::path& dir);

} // namespace epic
