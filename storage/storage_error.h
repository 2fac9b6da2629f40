#pragma once
// The storage layer's exception: an epic::error (common/error.h) whose message always starts with
// the file it concerns ("library.db: ...", "ab/cd/....epkv: ...") so a user-facing error can be
// shown as is. Its own type lets callers tell a storage failure (a full disk, a read-only folder)
// from the rest.
#include "common/error.h"

namespace epic {

class storage_error : public error {
public:
    using error::error;
};

} // namespace epic
