#pragma once
// Errors of the runtime and storage layers: an exception carrying a message that names the file
// (or object) and the problem. Loaders and I/O throw it; the service facade turns it into a status
// before anything crosses a thread, a Qt slot or the public API.
#include <stdexcept>
#include <string>

namespace epic {

class error : public std::runtime_error {
public:
    explicit error(const std::string& message) : std::runtime_error(message) {}
};

} // namespace epic
