#include "ingest/extract.h"

#include "common/utf8.h"
#include "ingest/html_text.h"
#include "ingest/pdf_text.h"
#include "ingest/text_check.h"
#include "storage_error.h"

#include <algorithm>
#include <cctype>

namespace epic::storage {
namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// A Markdown document's title is its first ATX heading ("# Title"), when it has one near the top.
std::string markdown_title(std::string_view text) {
    std::size_t pos = 0;
    for (int line = 0; line < 20 && pos < text.size(); ++line) {
        const std::size_t end = std::min(text.find('\n', pos), text.size());
        std::string_view l = text.substr(pos, end - pos);
        if (l.starts_with("# ")) {
            l.remove_prefix(2);
            while (!l.empty() && (l.back() == ' ' || l.back() == '#')) l.remove_suffix(1);
            return std::string(l);
        }
        pos = end + 1;
    }
    return {};
}

// A title is a label for lists and sources: a 10 MB Markdown heading or <title> is cut (between
// code points) rather than stored and shown whole.
std::string short_title(std::string title) {
    constexpr std::size_t max_bytes = 200;
    if (title.size() <= max_bytes) return title;
    std::size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(title[cut]) & 0xC0) == 0x80) --cut;
    title.resize(cut);
    return title + "\xE2\x80\xA6";  // "…"
}

} // namespace

std::optional<std::string> document_kind(const std::filesystem::path& file) {
    const std::string ext = lower(file.extension().string());
    if (ext == ".txt" || ext == ".text") return "txt";
    if (ext == ".md" || ext == ".markdown") return "md";
    if (ext == ".html" || ext == ".htm" || ext == ".xhtml") return "html";
    if (ext == ".pdf") return "pdf";
    return std::nullopt;
}

std::string normalize_plain_text(std::string_view raw) {
    if (raw.starts_with("\xEF\xBB\xBF")) raw.remove_prefix(3);
    std::string repaired = repair_utf8(raw);
    std::string out;
    out.reserve(repaired.size());
    for (std::size_t i = 0; i < repaired.size(); ++i) {
        if (repaired[i] == '\r') {
            out += '\n';
            if (i + 1 < repaired.size() && repaired[i + 1] == '\n') ++i;
        } else {
            out += repaired[i];
        }
    }
    return out;
}

int page_at(const std::vector<std::size_t>& page_starts, std::size_t offset) {
    if (page_starts.empty()) return 0;
    const auto it = std::upper_bound(page_starts.begin(), page_starts.end(), offset);
    return static_cast<int>(std::max<std::ptrdiff_t>(1, it - page_starts.begin()));
}

extracted_text extract_document(const std::filesystem::path& file, std::span<const std::byte> bytes, std::string_view kind) {
    const std::string_view raw(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    extracted_text out;
    if (kind == "txt" || kind == "md" || kind == "html") require_text(file, raw);
    if (kind == "txt" || kind == "md") {
        out.text = normalize_plain_text(raw);
        if (kind == "md") out.title = markdown_title(out.text);
    } else if (kind == "html") {
        html_text h = html_to_text(normalize_plain_text(raw));
        out.text = std::move(h.text);
        out.title = std::move(h.title);
    } else if (kind == "pdf") {
        out = pdf_to_text(file, bytes);
    } else {
        throw storage_error(file.string() + ": unsupported file type \"" + std::string(kind) + "\"");
    }
    if (out.title.empty()) out.title = repair_utf8(file.stem().string());
    out.title = short_title(std::move(out.title));
    return out;
}

} // namespace epic::storage
