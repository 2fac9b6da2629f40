#include "core/read_file.h"

#include "common/error.h"
#include "kvstore/atomic_file.h"
#include "storage_error.h"

namespace epic {

std::string read_file_text(const std::string& path) {
    try {
        const std::vector<std::byte> bytes = storage::read_whole_file(path);
        return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    } catch (const storage_error& e) {
        throw error(e.what());
    }
}

} // namespace epic
