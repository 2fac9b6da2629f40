#include "ingest/html_text.h"

#include "common/utf8.h"

#include <libxml/HTMLparser.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <utility>

namespace epic::storage {
namespace {

// A named character reference's code point (libxml2's table: HTML 4's entities and &apos;; names are
// case-sensitive, &Eacute; is not &eacute;), or 0.
std::uint32_t named_entity(std::string_view name) {
    if (name.empty() || name.size() > 10) return 0; // the longest HTML 4 name, "thetasym", has 8 letters
    const std::string z(name);
    const htmlEntityDesc* e = htmlEntityLookup(reinterpret_cast<const xmlChar*>(z.c_str()));
    return e ? e->value : 0;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool is_block(std::string_view tag) {
    static constexpr std::array<std::string_view, 30> blocks{
        "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "table", "tr", "section", "article",
        "header", "footer", "nav", "aside", "blockquote", "pre", "hr", "dl", "dt", "dd", "figure", "figcaption",
        "main", "form", "body"};
    return std::find(blocks.begin(), blocks.end(), tag) != blocks.end();
}

bool is_raw_text(std::string_view tag) {
    return tag == "script" || tag == "style" || tag == "template" || tag == "noscript" || tag == "svg";
}

// Finds "</tag" case-insensitively from pos; npos when absent.
std::size_t find_close(std::string_view html, std::size_t pos, std::string_view tag) {
    const std::string needle = "</" + std::string(tag);
    while (pos < html.size()) {
        const std::size_t lt = html.find("</", pos);
        if (lt == std::string_view::npos) return lt;
        if (lower(html.substr(lt, needle.size())) == needle) return lt;
        pos = lt + 2;
    }
    return std::string_view::npos;
}

// Collapses whitespace runs to one space and keeps at most one blank line between blocks.
class text_sink {
public:
    void text(std::string_view s) {
        for (char c : s) {
            if (is_space(c)) {
                pending_space_ = true;
            } else {
                if (pending_space_ && !out_.empty() && out_.back() != '\n') out_ += ' ';
                pending_space_ = false;
                out_ += c;
            }
        }
    }
    void line_break(int n) {  // n = 1: line, n = 2: paragraph
        pending_space_ = false;
        while (!out_.empty() && out_.back() == ' ') out_.pop_back();
        if (out_.empty()) return;
        int have = 0;
        for (auto it = out_.rbegin(); it != out_.rend() && *it == '\n'; ++it) ++have;
        for (; have < n; ++have) out_ += '\n';
    }
    std::string finish() {
        while (!out_.empty() && (out_.back() == '\n' || out_.back() == ' ')) out_.pop_back();
        return std::move(out_);
    }

private:
    std::string out_;
    bool pending_space_ = false;
};

} // namespace

std::string decode_html_entities(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        if (s[i] != '&') {
            out += s[i++];
            continue;
        }
        // An entity's ';' is at most 12 bytes after its '&' (&#x0010FFFF; is 11): look no further, or every
        // '&' of a text without ';' would scan the rest of it (quadratic on 10 MB of '&').
        const std::size_t semi = s.substr(0, std::min(s.size(), i + 13)).find(';', i + 1);
        if (semi == std::string_view::npos) {
            out += s[i++];
            continue;
        }
        const std::string_view name = s.substr(i + 1, semi - i - 1);
        bool done = false;
        if (name.size() > 1 && name[0] == '#') {
            std::uint32_t cp = 0;
            const bool hex = name[1] == 'x' || name[1] == 'X';
            const std::string_view digits = name.substr(hex ? 2 : 1);
            bool ok = !digits.empty();
            for (char c : digits) {
                const int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                              : hex && std::isxdigit(static_cast<unsigned char>(c)) ? (std::tolower(c) - 'a' + 10)
                                                                                    : -1;
                if (v < 0 || cp > 0x10FFFF) { ok = false; break; }
                cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(v);
            }
            if (ok) {
                append_utf8(out, cp == 0 ? 0xFFFD : cp); // &#0; is no character (HTML maps it to U+FFFD)
                done = true;
            }
        } else if (const std::uint32_t cp = named_entity(name)) {
            append_utf8(out, cp);
            done = true;
        }
        if (done) i = semi + 1;
        else out += s[i++];
    }
    return out;
}

html_text html_to_text(std::string_view html) {
    html_text result;
    text_sink sink;
    std::size_t i = 0;
    while (i < html.size()) {
        const std::size_t lt = html.find('<', i);
        sink.text(decode_html_entities(html.substr(i, (lt == std::string_view::npos ? html.size() : lt) - i)));
        if (lt == std::string_view::npos) break;
        i = lt;
        if (html.substr(i, 4) == "<!--") {
            const std::size_t end = html.find("-->", i + 4);
            i = end == std::string_view::npos ? html.size() : end + 3;
            continue;
        }
        if (i + 1 < html.size() && (html[i + 1] == '!' || html[i + 1] == '?')) {
            const std::size_t end = html.find('>', i);
            i = end == std::string_view::npos ? html.size() : end + 1;
            continue;
        }
        // A tag: "<" ["/"] name attributes... ">"; a "<" not followed by a letter is text.
        std::size_t p = i + 1;
        const bool closing = p < html.size() && html[p] == '/';
        if (closing) ++p;
        const std::size_t name_begin = p;
        while (p < html.size() && (std::isalnum(static_cast<unsigned char>(html[p])) || html[p] == '-')) ++p;
        if (p == name_begin) {
            sink.text("<");
            i = lt + 1;
            continue;
        }
        const std::string tag = lower(html.substr(name_begin, p - name_begin));
        // Skip attributes, honouring quotes so a ">" inside a value does not end the tag.
        char quote = 0;
        while (p < html.size() && (quote || html[p] != '>')) {
            if (quote && html[p] == quote) quote = 0;
            else if (!quote && (html[p] == '"' || html[p] == '\'')) quote = html[p];
            ++p;
        }
        i = p < html.size() ? p + 1 : html.size();
        if (closing) {
            if (is_block(tag)) sink.line_break(2);
            else if (tag == "td" || tag == "th") sink.text(" ");
            continue;
        }
        if (is_raw_text(tag) || tag == "title") {
            const std::size_t close = find_close(html, i, tag);
            const std::size_t content_end = close == std::string_view::npos ? html.size() : close;
            if (tag == "title" && result.title.empty()) {
                text_sink t;
                t.text(decode_html_entities(html.substr(i, content_end - i)));
                result.title = t.finish();
            }
            if (close == std::string_view::npos) { i = html.size(); continue; }
            const std::size_t gt = html.find('>', close);
            i = gt == std::string_view::npos ? html.size() : gt + 1;
            continue;
        }
        if (tag == "br") sink.line_break(1);
        else if (is_block(tag)) sink.line_break(2);
        else if (tag == "td" || tag == "th") sink.text(" ");
    }
    // Entities can produce invalid sequences only through bugs, but stay safe: the DB needs UTF-8.
    result.text = repair_utf8(sink.finish());
    return result;
}

} // namespace epic::storage
