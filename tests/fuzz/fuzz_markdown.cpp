// libFuzzer target: Markdown text extraction (storage/ingest/extract.h, kind "md": UTF-8 repair,
// line ends, the title from the first ATX heading) on arbitrary bytes. The text and title must be
// valid UTF-8 without CR (extract.h); anything escaping is a finding.
#include "common/utf8.h"
#include "ingest/extract.h"
#include "storage_error.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace epic::storage;
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    extracted_text out;
    try {
        out = extract_document("fuzz.md", bytes, "md");
    } catch (const epic::storage_error&) {
        // Refused as not text (NUL bytes, mostly not UTF-8: text_check.h): the documented outcome.
        return 0;
    }
    if (!is_valid_utf8(out.text) || !is_valid_utf8(out.title)) {
        std::fprintf(stderr, "markdown extraction produced invalid UTF-8\n");
        std::abort();
    }
    if (out.text.find('\r') != std::string::npos) {
        std::fprintf(stderr, "markdown extraction left a CR in the text\n");
        std::abort();
    }
    return 0;
}
