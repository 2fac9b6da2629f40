#include "support/hostile_documents.h"

#include "common/utf8.h"

#include <random>

namespace epic::test {
namespace {

std::string letters(std::mt19937& rng, std::size_t n) {
    std::string s(n, 'a');
    for (auto& c : s) c = static_cast<char>('a' + rng() % 26);
    return s;
}

} // namespace

std::vector<hostile_document> hostile_documents(std::size_t bytes) {
    std::mt19937 rng(20240614);
    std::vector<hostile_document> out;

    const std::string word = letters(rng, bytes);
    out.push_back({"one-word.txt", "txt", word, word});

    std::string cjk;
    cjk.reserve(bytes + 3);
    while (cjk.size() < bytes) append_utf8(cjk, static_cast<char32_t>(0x4E00 + rng() % 0x5000));
    out.push_back({"cjk.txt", "txt", cjk, cjk});

    const std::string heading = "# " + letters(rng, bytes) + "\n\nThe body.\n";
    out.push_back({"heading.md", "md", heading, heading});

    out.push_back({"ampersands.html", "html", std::string(bytes, '&'), std::string(bytes, '&')});
    out.push_back({"less-than.html", "html", std::string(bytes, '<'), std::string(bytes, '<')});

    // Entities back to back, valid and not, with the decoded text each contributes.
    static const std::pair<std::string_view, std::string_view> pieces[] = {
        {"&amp;", "&"},           {"&lt;", "<"},        {"&#233;", "\xC3\xA9"}, {"&#x1F600;", "\xF0\x9F\x98\x80"},
        {"&nbsp;", "\xC2\xA0"},   {"&bogus;", "&bogus;"}, {"&", "&"},           {"&#;", "&#;"},
        {"&#x4E2D;", "\xE4\xB8\xAD"}, {"&quot;", "\""},
    };
    std::string html = "<p>", text;
    while (html.size() < bytes) {
        const auto& [in, decoded] = pieces[rng() % std::size(pieces)];
        html += in;
        text += decoded;
    }
    html += "</p>";
    out.push_back({"entities.html", "html", html, text});
    return out;
}

int count_subwords(std::string_view text) {
    long long tokens = 0, cps = 0;
    const auto end_word = [&] {
        tokens += (cps + 2) / 3;
        cps = 0;
    };
    for (unsigned char c : text) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') end_word();
        else if ((c & 0xC0) != 0x80) ++cps;
    }
    end_word();
    return static_cast<int>(tokens);
}

} // namespace epic::test
