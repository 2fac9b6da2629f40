#include "ingest/text_check.h"

#include "common/utf8.h"
#include "storage_error.h"

#include <cstdio>

namespace epic::storage {
namespace {

std::size_t count_replacements(std::string_view s) {
    std::size_t n = 0;
    for (std::size_t at = s.find("\xEF\xBF\xBD"); at != std::string_view::npos; at = s.find("\xEF\xBF\xBD", at + 3)) ++n;
    return n;
}

} // namespace

void require_text(const std::filesystem::path& file, std::string_view raw) {
    if (raw.find('\0') != std::string_view::npos)
        throw storage_error(file.string() +
                            ": not a text file (it contains NUL bytes: binary data, or UTF-16 text, which must be saved "
                            "as UTF-8)");
    if (is_valid_utf8(raw)) return;
    // repair_utf8 puts one U+FFFD per ill-formed sequence: what it added is what is not UTF-8.
    const std::size_t bad = count_replacements(repair_utf8(raw)) - count_replacements(raw);
    const double fraction = double(bad) / double(raw.size());
    if (fraction > max_invalid_utf8_fraction) {
        char pct[32];
        std::snprintf(pct, sizeof pct, "%.0f%%", fraction * 100);
        throw storage_error(file.string() + ": not a text file (" + pct +
                            " of it is not valid UTF-8: binary data, or text in another encoding, which must be "
                            "saved as UTF-8)");
    }
}

} // namespace epic::storage
