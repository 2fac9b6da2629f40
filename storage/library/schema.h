#pragma once
// The library database schema, as an ordered list of migrations. Never edit a shipped step: add one.
#include "sqlite/migrations.h"

#include <span>

namespace epic::storage {

// All steps, 1..latest. Tests apply a prefix (first(1)) to build an old-version database.
std::span<const sqlite::migration> library_migrations();
int library_schema_version();

} // namespace epic::storage
