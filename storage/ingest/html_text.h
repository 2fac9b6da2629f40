#pragma once
// HTML to plain text without a DOM: tags dropped, <script>/<style>/<template>/<noscript> and comments
// removed with their content, block elements turned into paragraph breaks (so the chunker can cut
// there), whitespace collapsed as a browser would, common character entities decoded.
#include <string>
#include <string_view>

namespace epic::storage {

struct html_text {
    std::string text;
    std::string title;  // <title>, decoded
};

// html must be valid UTF-8 (see normalize_plain_text); the output is valid UTF-8.
html_text html_to_text(std::string_view html);

// Decodes &amp; &lt; &#233; &#x1F600; &nbsp; &oacute; &rarr; ... (numeric references, and names as
// HTML 4 defines them plus &apos;); unknown or malformed entities stay as written.
std::string decode_html_entities(std::string_view text);

} // namespace epic::storage
