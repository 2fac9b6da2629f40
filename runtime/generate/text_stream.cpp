#include "generate/text_stream.h"

namespace epic {
namespace {

// Length of the incomplete UTF-8 sequence at the end of s (0 when s ends on a boundary).
size_t incomplete_tail(const std::string& s) {
    const size_t n = s.size();
    for (size_t back = 1; back <= 4 && back <= n; ++back) {
        const unsigned char c = (unsigned char)s[n - back];
        if ((c & 0xC0) == 0x80) continue; // continuation byte: keep looking for the lead
        size_t need = 1;
        if ((c & 0xE0) == 0xC0) need = 2;
        else if ((c & 0xF0) == 0xE0) need = 3;
        else if ((c & 0xF8) == 0xF0) need = 4;
        return need > back ? back : 0;
    }
    return 0; // only continuation bytes: invalid; let them through
}

} // namespace

std::string utf8_stream::push(std::string_view bytes) {
    pending_.append(bytes);
    const size_t tail = incomplete_tail(pending_);
    std::string out = pending_.substr(0, pending_.size() - tail);
    pending_.erase(0, pending_.size() - tail);
    return out;
}

std::string utf8_stream::flush() {
    std::string out;
    out.swap(pending_);
    return out;
}

} // namespace epic
