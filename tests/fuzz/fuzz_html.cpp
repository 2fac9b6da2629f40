// libFuzzer target: HTML text extraction (storage/ingest/html_text.h) on arbitrary bytes, through
// the path ingestion takes (extract_document, kind "html": UTF-8 repair, then html_to_text) and the
// entity decoder alone. The output must be valid UTF-8 (html_text.h); anything escaping is a finding.
#include "common/utf8.h"
#include "ingest/extract.h"
#include "ingest/html_text.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace epic::storage;
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    const extracted_text out = extract_document("fuzz.html", bytes, "html");
    if (!is_valid_utf8(out.text) || !is_valid_utf8(out.title)) {
        std::fprintf(stderr, "html extraction produced invalid UTF-8\n");
        std::abort();
    }
    const std::string decoded = decode_html_entities(normalize_plain_text(
        std::string_view(reinterpret_cast<const char*>(data), size)));
    if (!is_valid_utf8(decoded)) {
        std::fprintf(stderr, "decode_html_entities produced invalid UTF-8 from valid UTF-8\n");
        std::abort();
    }
    return 0;
}
