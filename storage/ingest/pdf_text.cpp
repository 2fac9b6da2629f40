#include "ingest/pdf_text.h"

#include "common/utf8.h"
#include "storage_error.h"

#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-page.h>

#include <limits>
#include <memory>
#include <mutex>

namespace epic::storage {
namespace {

std::string to_utf8(const poppler::ustring& s) {
    const poppler::byte_array bytes = s.to_utf8();
    return std::string(bytes.begin(), bytes.end());
}

// poppler prints every oddity of a damaged PDF on stderr (497,000 lines for one folder): its messages
// are silenced for good, except that the first one of an extraction on this thread is kept to
// explain a failure; the document's one storage_error is what the user sees.
thread_local std::string* first_poppler_message = nullptr;

void keep_first_message(const std::string& message, void*) {
    if (!first_poppler_message || !first_poppler_message->empty()) return;
    // "error (1234): Couldn't find trailer dictionary" -> "Couldn't find trailer dictionary"
    const std::size_t colon = message.starts_with("error") ? message.find(": ") : std::string::npos;
    *first_poppler_message = colon == std::string::npos ? message : message.substr(colon + 2);
}

// Collects poppler's first message while alive, on this thread.
class poppler_messages {
public:
    poppler_messages() {
        static std::once_flag once;
        std::call_once(once, [] { poppler::set_debug_error_function(keep_first_message, nullptr); });
        first_poppler_message = &first_;
    }
    ~poppler_messages() { first_poppler_message = nullptr; }
    poppler_messages(const poppler_messages&) = delete;
    poppler_messages& operator=(const poppler_messages&) = delete;

    // " (poppler: <message>)", or nothing when poppler said nothing.
    std::string detail() const {
        if (first_.empty()) return {};
        std::string m = repair_utf8(first_.substr(0, 200));  // a cut code point becomes U+FFFD
        return " (poppler: " + m + ")";
    }

private:
    std::string first_;
};

} // namespace

extracted_text pdf_to_text(const std::filesystem::path& file, std::span<const std::byte> bytes) {
    if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        throw storage_error(file.string() + ": PDF too large (over 2 GiB)");
    const poppler_messages messages;
    // load_from_raw_data reads the bytes we already hashed: one read of the file, and the text always
    // matches the hash even if the file changes meanwhile. poppler does not copy them; `bytes`
    // outlives `doc` here.
    std::unique_ptr<poppler::document> doc(poppler::document::load_from_raw_data(
        reinterpret_cast<const char*>(bytes.data()), static_cast<int>(bytes.size())));
    if (!doc) throw storage_error(file.string() + ": not a readable PDF (damaged or not a PDF)" + messages.detail());
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
