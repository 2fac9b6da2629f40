#include "ingest/pdf_text.h"

#include "common/utf8.h"
#include "storage_error.h"

#include <poppler-document.h>
#include <poppler-page.h>

#include <limits>
#include <memory>

namespace epic::storage {
namespace {

std::string to_utf8(const poppler::ustring& s) {
    const poppler::byte_array bytes = s.to_utf8();
    return std::string(bytes.begin(), bytes.end());
}

} // namespace

extracted_text pdf_to_text(const std::filesystem::path& file, std::span<const std::byte> bytes) {
    if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        throw storage_error(file.string() + ": PDF too large (over 2 GiB)");
    // load_from_raw_data reads the bytes we already hashed: one read of the file, and the text always
    // matches the hash even if the file changes meanwhile. poppler does not copy them; `bytes`
    // outlives `doc` here.
    std::unique_ptr<poppler::document> doc(poppler::document::load_from_raw_data(
        reinterpret_cast<const char*>(bytes.data()), static_cast<int>(bytes.size())));
    if (!doc) throw storage_error(file.string() + ": not a readable PDF (damaged or not a PDF)");
    if (doc->is_locked()) throw storage_error(file.string() + ": PDF is encrypted (password protected)");

    extracted_text out;
    const int pages = doc->pages();
    bool any_text = false;
    for (int i = 0; i < pages; ++i) {
        std::unique_ptr<poppler::page> page(doc->create_page(i));
        // Pages are separated by a blank line so the chunker sees a paragraph break there.
        if (i > 0) out.text += "\n\n";
        out.page_starts.push_back(out.text.size());
        if (!page) continue;
        std::string text = repair_utf8(to_utf8(page->text()));
        // poppler ends lines with "\n" (sometimes "\r\n") and pages with form feeds: normalise.
        std::string clean;
        clean.reserve(text.size());
        for (char c : text) {
            if (c == '\r') continue;
            clean += c == '\f' ? '\n' : c;
        }
        while (!clean.empty() && (clean.back() == '\n' || clean.back() == ' ')) clean.pop_back();
        any_text |= clean.find_first_not_of(" \n\t") != std::string::npos;
        out.text += clean;
    }
    if (pages == 0) throw storage_error(file.string() + ": PDF has no pages");
    if (!any_text) throw storage_error(file.string() + ": PDF has no extractable text (scanned? OCR is not supported)");
    out.title = repair_utf8(to_utf8(doc->info_key("Title")));
    return out;
}

} // namespace epic::storage
