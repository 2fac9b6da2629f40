#pragma once
// The library database schema, as an ordered list of migrations. Never edit a shipped step: add one.
#include "sqlite/migrations.h"

#include <span>

namespace epic::storage {

// All steps, 1..latest. Tests apply a prefix (first(1)) to build an old-version database.
std::span<const sqlite::migration> library_migrations();
int library_schema_version();

// The FTS5 tokenizer of chunks_fts (schema step 1; a test keeps the two equal). rank_texts uses it
// too, so a handful of texts rank as the library would rank them.
inline constexpr const char* chunks_fts_tokenizer = "porter unicode61 remove_diacritics 2";

} // namespace epic::storage
