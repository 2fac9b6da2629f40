#pragma once
// The one exception type of the storage layer. Messages always start with the file they concern
// ("library.db: ...", "ab/cd/....epkv: ...") so a user-facing error can be shown as is.
#include <stdexcept>
#include <string>

namespace epic {

class storage_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace epic
