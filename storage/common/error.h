#pragma once
// The project's one exception base: a message that names the file (or object) and the problem,
// ready to show a user. Every layer throws it or a type derived from it (storage_error); the
// service facade turns it into a failed result (core/result.h) before anything crosses a thread, a
// Qt slot or the public API. It lives in storage/common, the lowest layer, so storage and the
// runtime share it.
#include <stdexcept>
#include <string>

namespace epic {

class error : public std::runtime_error {
public:
    explicit error(const std::string& message) : std::runtime_error(message) {}
};

} // namespace epic
