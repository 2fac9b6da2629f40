// libFuzzer target: HTML text extraction (storage/ingest/html_text.h) on arbitrary bytes, through
// the path ingestion takes (extract_document, kind "html": UTF-8 repair, then html_to_text) and the
// entity decoder alone. The output must be valid UTF-8 (html_text.h); anything escaping is a finding.
#include "common/utf8.h"
#include "ingest/extract.h"
#include "ingest/html_text.h"
#include "storage_error.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace epic::storage;
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    const std::string_view raw(reinterpret_cast<const char*>(data), size);
    extracted_text out;
    try {
        out = extract_document("fuzz.html", bytes, "html");
    } catch (const epic::storage_error&) {
        // Refused as not text (NUL bytes, mostly not UTF-8: text_check.h), the documented outcome;
        // the parser still gets these bytes, repaired, as ingestion would have given them before.
        const html_text h = html_to_text(normalize_plain_text(raw));
        out.text = h.text;
        out.title = h.title;
    }
    if (!is_valid_utf8(out.text) || !is_valid_utf8(out.title)) {
        std::fprintf(stderr, "html extraction produced invalid UTF-8\n");
        std::abort();
    }
    const std::string decoded = decode_html_entities(normalize_plain_text(raw));
    if (!is_valid_utf8(decoded)) {
        std::fprintf(stderr, "decode_html_entities produced invalid UTF-8 from valid UTF-8\n");
        std::abort();
    }
    return 0;
}
