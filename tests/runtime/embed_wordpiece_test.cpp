// WordPiece, BERT's tokenizer. On every machine: a tokenizer.json the test writes itself (a few dozen
// pieces) checks greedy longest match, "##" continuation, [UNK], the 100-character rule, truncation,
// the BertNormalizer switches and load errors; and the code point sweep of
// tests/data/embed/wordpiece_expectations.json (made by make_wordpiece_expectations.py with Hugging Face
// tokenizers) checks the normalizer and pre-tokenizer on every code point. With
// models/all-minilm-l6-v2/tokenizer.json present, every case of that file must come out id for id.
#include "common/error.h"
#include "core/json.h"
#include "common/utf8.h"
#include "embed/wordpiece.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <sstream>

namespace epic {
namespace {

namespace fs = std::filesystem;

fs::path expectations_file() {
    return fs::path(EPIC_SOURCE_DIR) / "tests" / "data" / "embed" / "wordpiece_expectations.json";
}

// The pieces of the fixture vocabulary; the id of a piece is its index.
const std::vector<std::string> fixture_pieces = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",                             // 0-4
    "hello", "world", "un", "una", "##ff", "##able", "##aff", "abc", "ab",    // 5-13
    "##cd", "a", "##a", "cafe", "caf", "##e", ",", "!", ".", "'", "don",    // 14-24
    "##t", "t", "中", "文", "i", "##i", "ss", "##ss", "straße", "é", "#",   // 25-35
    "x", "##x", "stanbul", "istanbul", "##ß", "e",                           // 36-41
};

int32_t id_of(const std::string& piece) {
    for (size_t i = 0; i < fixture_pieces.size(); ++i)
        if (fixture_pieces[i] == piece) return static_cast<int32_t>(i);
    throw std::logic_error("not a fixture piece: " + piece);
}

std::vector<int32_t> ids_of(std::initializer_list<const char*> pieces) {
    std::vector<int32_t> ids;
    for (const char* p : pieces) ids.push_back(id_of(p));
    return ids;
}

// A tokenizer.json as HF writes one for BERT (only what the reader looks at, plus a decoy or two).
struct fixture_json {
    std::vector<std::string> pieces = fixture_pieces;
    std::string model_type = "WordPiece";
    std::string normalizer =
        R"({"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true})";
    std::string pre_tokenizer = R"({"type":"BertPreTokenizer"})";
    std::string max_chars = "100";
    std::string post_processor =
        R"({"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},)"
        R"({"SpecialToken":{"id":"[SEP]","type_id":0}}],"pair":[],"special_tokens":{}})";

    std::string text() const {
        std::string vocab = "{";
        for (size_t i = 0; i < pieces.size(); ++i) {
            if (i > 0) vocab += ',';
            vocab += json_quote(pieces[i]) + ":" + std::to_string(i);
        }
        vocab += "}";
        return R"({"version":"1.0","truncation":null,"padding":null,"added_tokens":[],)"
               R"("normalizer":)" + normalizer + R"(,"pre_tokenizer":)" + pre_tokenizer +
               R"(,"post_processor":)" + post_processor + R"(,"decoder":{"type":"WordPiece","prefix":"##","cleanup":true},)"
               R"("model":{"type":)" + json_quote(model_type) + R"(,"unk_token":"[UNK]","continuing_subword_prefix":"##",)"
               R"("max_input_chars_per_word":)" + max_chars + R"(,"vocab":)" + vocab + "}}";
    }
};

class embed_wordpiece : public ::testing::Test {
protected:
    wordpiece_tokenizer load(const fixture_json& f) {
        const fs::path file = dir / "tokenizer.json";
        test::write_file(file, f.text());
        return wordpiece_tokenizer::from_file(file);
    }
    // The message of the epic::error loading `content` throws (fails the test when none is thrown).
    std::string load_error(const std::string& content, const std::string& file_name = "tokenizer.json") {
        const fs::path file = dir / file_name;
        test::write_file(file, content);
        try {
            wordpiece_tokenizer::from_file(file);
        } catch (const error& e) {
            const std::string what = e.what();
            EXPECT_NE(what.find(file.string()), std::string::npos) << "error does not name the file: " << what;
            return what;
        }
        ADD_FAILURE() << "no error for " << content.substr(0, 200);
        return {};
    }
    test::scratch_dir dir;
};

TEST_F(embed_wordpiece, reads_fixture_vocabulary_and_specials) {
    const wordpiece_tokenizer tok = load({});
    EXPECT_EQ(tok.vocab_size(), fixture_pieces.size());
    EXPECT_EQ(tok.pad_id(), 0);
    EXPECT_EQ(tok.unk_id(), 1);
    EXPECT_EQ(tok.cls_id(), 2);
    EXPECT_EQ(tok.sep_id(), 3);
    EXPECT_EQ(tok.find_piece("##able"), id_of("##able"));
    EXPECT_EQ(tok.find_piece("able"), -1);
    EXPECT_EQ(tok.piece(id_of("straße")), "straße");
    EXPECT_TRUE(tok.options().lowercase);
    EXPECT_TRUE(tok.options().strip_accents); // null follows lowercase
    EXPECT_EQ(tok.options().max_input_chars_per_word, 100u);
}

TEST_F(embed_wordpiece, greedy_longest_match_with_continuation_pieces) {
    const wordpiece_tokenizer tok = load({});
    EXPECT_EQ(tok.encode("hello world"), ids_of({"hello", "world"}));
    // "una" is longer than "un", so it is taken first and the rest must be "##ffable"...
    EXPECT_EQ(tok.encode("unaffable"), ids_of({"una", "##ff", "##able"}));
    EXPECT_EQ(tok.encode("unable"), ids_of({"[UNK]"})); // "una" taken, then no "##ble": "un" is not retried
    // ... no backtracking: "abc" + "##d" fails although "ab" + "##cd" would have matched.
    EXPECT_EQ(tok.encode("abcd"), ids_of({"[UNK]"}));
    EXPECT_EQ(tok.encode("abcd abc ab"), ids_of({"[UNK]", "abc", "ab"}));
    EXPECT_EQ(tok.encode("aaa"), ids_of({"a", "##a", "##a"}));
    EXPECT_EQ(tok.encode("cafe caf café CAFÉ cafée"), ids_of({"cafe", "caf", "cafe", "cafe", "cafe", "##e"}));
}

TEST_F(embed_wordpiece, unknown_words_are_one_unk_and_leave_neighbours_alone) {
    const wordpiece_tokenizer tok = load({});
    EXPECT_EQ(tok.encode("hello zzz world"), ids_of({"hello", "[UNK]", "world"}));
    EXPECT_EQ(tok.encode("hellox"), ids_of({"hello", "##x"}));
    EXPECT_EQ(tok.encode("helloq"), ids_of({"[UNK]"})); // a piece matched, then nothing: the whole word
    // Punctuation is a word of its own, whitespace of any kind separates, "##" in the text is punctuation.
    EXPECT_EQ(tok.encode("hello,world!"), ids_of({"hello", ",", "world", "!"}));
    EXPECT_EQ(tok.encode("don't"), ids_of({"don", "'", "t"}));
    EXPECT_EQ(tok.encode("\thello\u00a0\nworld\u3000"), ids_of({"hello", "world"}));
    EXPECT_EQ(tok.encode("##a"), ids_of({"#", "#", "a"}));
    // CJK ideographs are words of their own even without spaces.
    EXPECT_EQ(tok.encode("hello中文world"), ids_of({"hello", "中", "文", "world"}));
    EXPECT_TRUE(tok.encode("").empty());
    EXPECT_TRUE(tok.encode(" \t\r\n ").empty());
}

TEST_F(embed_wordpiece, words_over_max_input_chars_are_unknown) {
    const wordpiece_tokenizer tok = load({});
    const std::string a100(100, 'a');
    const std::vector<int32_t> ids = tok.encode(a100);
    ASSERT_EQ(ids.size(), 100u); // "a" then 99 "##a"
    EXPECT_EQ(ids.front(), id_of("a"));
    EXPECT_EQ(ids.back(), id_of("##a"));
    EXPECT_EQ(tok.encode(a100 + "a"), ids_of({"[UNK]"}));
    EXPECT_EQ(tok.encode("hello " + a100 + "a world"), ids_of({"hello", "[UNK]", "world"}));
    // Characters, not bytes: 100 two-byte 'é' are within the limit (and lose their accent).
    std::string e100;
    for (int i = 0; i < 100; ++i) e100 += "é";
    EXPECT_EQ(tok.encode(e100).size(), 100u);
    EXPECT_EQ(tok.encode(e100 + "é"), ids_of({"[UNK]"}));

    fixture_json five;
    five.max_chars = "5";
    const wordpiece_tokenizer short_words = load(five);
    EXPECT_EQ(short_words.encode("aaaaa aaaaaa"), ids_of({"a", "##a", "##a", "##a", "##a", "[UNK]"}));
}

TEST_F(embed_wordpiece, encode_for_model_frames_and_truncates) {
    const wordpiece_tokenizer tok = load({});
    const std::vector<int32_t> body = tok.encode("hello world, unaffable!");
    ASSERT_EQ(body.size(), 7u);
    std::vector<int32_t> whole = {tok.cls_id()};
    whole.insert(whole.end(), body.begin(), body.end());
    whole.push_back(tok.sep_id());
    EXPECT_EQ(tok.encode_for_model("hello world, unaffable!", 512), whole);
    EXPECT_EQ(tok.encode_for_model("hello world, unaffable!", 9), whole);
    // Cut at the end, inside a word if need be; [SEP] stays.
    EXPECT_EQ(tok.encode_for_model("hello world, unaffable!", 6),
              (std::vector<int32_t>{2, id_of("hello"), id_of("world"), id_of(","), id_of("una"), 3}));
    EXPECT_EQ(tok.encode_for_model("hello world, unaffable!", 2), (std::vector<int32_t>{2, 3}));
    EXPECT_EQ(tok.encode_for_model("", 8), (std::vector<int32_t>{2, 3}));
    EXPECT_THROW(tok.encode_for_model("hello", 1), std::invalid_argument);
    EXPECT_THROW(tok.encode_for_model("hello", -5), std::invalid_argument);
}

TEST_F(embed_wordpiece, normalizer_switches) {
    const wordpiece_tokenizer tok = load({});
    EXPECT_EQ(tok.normalize("Café RÉSUMÉ"), "cafe resume");
    EXPECT_EQ(tok.normalize("İ ẞ Σ"), "i ß σ"); // 'İ' -> I + U+0307 -> I -> i
    EXPECT_EQ(tok.normalize("a\x01" "b\x0b" "c\td\u200be\u00a0f"), "abc de f"); // \v and U+200B dropped, not spaces
    EXPECT_EQ(tok.normalize("x中y"), "x 中 y");
    EXPECT_EQ(tok.pre_tokenize("Hello, World!!"), (std::vector<std::string>{"hello", ",", "world", "!", "!"}));

    fixture_json cased;
    cased.normalizer = R"({"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":false})";
    const wordpiece_tokenizer c = load(cased);
    EXPECT_FALSE(c.options().strip_accents); // null follows lowercase
    EXPECT_EQ(c.normalize("Café İ"), "Café İ");

    fixture_json no_strip;
    no_strip.normalizer = R"({"type":"BertNormalizer","strip_accents":false,"lowercase":true})";
    const wordpiece_tokenizer n = load(no_strip);
    EXPECT_EQ(n.normalize("Café İ"), "café i\u0307"); // Rust's to_lowercase of 'İ' keeps the dot
    EXPECT_EQ(n.encode("é"), ids_of({"é"}));

    fixture_json strip_only;
    strip_only.normalizer =
        R"({"type":"BertNormalizer","clean_text":false,"handle_chinese_chars":false,"strip_accents":true,"lowercase":false})";
    const wordpiece_tokenizer s = load(strip_only);
    EXPECT_EQ(s.normalize("Café\x01中"), "Cafe\x01中");
}

TEST_F(embed_wordpiece, invalid_utf8_bytes_are_dropped_without_crashing) {
    const wordpiece_tokenizer tok = load({});
    EXPECT_EQ(tok.encode("hel\xFFlo"), tok.encode("hello"));             // a bad byte inside a word
    EXPECT_EQ(tok.encode("hello\xE2\x82 world"), tok.encode("hello world")); // truncated sequence
    EXPECT_EQ(tok.encode("\xC0\xAFhello\xED\xA0\x80"), tok.encode("hello")); // overlong, surrogate
    EXPECT_EQ(tok.encode("hello\xF4\x90\x80\x80"), tok.encode("hello"));    // past U+10FFFF
    EXPECT_EQ(tok.encode("hello\xF0\x9F\x98"), tok.encode("hello"));        // cut off at the end
    EXPECT_EQ(tok.normalize("\x80\xBF" "a\xFE"), "a");

    // Any bytes at all: no crash, ids in range, [CLS] ... [SEP] within the limit.
    const uint32_t seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    for (int round = 0; round < 2000; ++round) {
        std::string bytes(rng() % 64, '\0');
        for (char& b : bytes) b = static_cast<char>(rng() % 4 == 0 ? 'a' + rng() % 3 : rng() % 256);
        const std::vector<int32_t> ids = tok.encode_for_model(bytes, 16);
        ASSERT_GE(ids.size(), 2u);
        ASSERT_LE(ids.size(), 16u);
        EXPECT_EQ(ids.front(), tok.cls_id());
        EXPECT_EQ(ids.back(), tok.sep_id());
        for (const int32_t id : ids) ASSERT_LT(static_cast<size_t>(id), tok.vocab_size());
    }
}

TEST_F(embed_wordpiece, constructible_from_pieces) {
    wordpiece_options options;
    options.max_input_chars_per_word = 3;
    const wordpiece_tokenizer tok(fixture_pieces, options);
    EXPECT_EQ(tok.encode("aaa aaaa"), ids_of({"a", "##a", "##a", "[UNK]"}));
    std::vector<std::string> dup = fixture_pieces;
    dup.push_back("hello");
    try {
        wordpiece_tokenizer bad(dup, {}, "my vocab");
        ADD_FAILURE() << "duplicate piece accepted";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("my vocab"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("\"hello\" appears twice"), std::string::npos) << e.what();
    }
    std::vector<std::string> no_unk = fixture_pieces;
    no_unk[1] = "[UNKNOWN]";
    EXPECT_THROW(wordpiece_tokenizer(no_unk, {}), error);
}

TEST_F(embed_wordpiece, load_errors_name_the_file_and_the_problem) {
    // Missing.
    try {
        wordpiece_tokenizer::from_file(dir / "absent" / "tokenizer.json");
        ADD_FAILURE() << "no error for a missing file";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find((dir / "absent" / "tokenizer.json").string()), std::string::npos) << e.what();
    }
    const std::string good = fixture_json{}.text();
    EXPECT_NE(load_error(good.substr(0, good.size() / 2)).find("not valid JSON"), std::string::npos);
    EXPECT_NE(load_error("").find("not valid JSON"), std::string::npos);
    EXPECT_NE(load_error(R"({"model":{"type":"WordPiece","vocab":{"\uZZZZ":0}}})").find("not valid JSON"), std::string::npos);
    EXPECT_NE(load_error("[1, 2, 3]").find("not a JSON object"), std::string::npos);
    EXPECT_NE(load_error(R"({"version":"1.0"})").find("model is missing"), std::string::npos);

    fixture_json bpe;
    bpe.model_type = "BPE";
    EXPECT_NE(load_error(bpe.text()).find("model.type is \"BPE\", not \"WordPiece\""), std::string::npos);
    fixture_json other_norm;
    other_norm.normalizer = R"({"type":"NFKC"})";
    EXPECT_NE(load_error(other_norm.text()).find("BertNormalizer"), std::string::npos);
    fixture_json other_pre;
    other_pre.pre_tokenizer = R"({"type":"Whitespace"})";
    EXPECT_NE(load_error(other_pre.text()).find("BertPreTokenizer"), std::string::npos);
    fixture_json no_cls;
    no_cls.pieces[2] = "[CLASS]";
    EXPECT_NE(load_error(no_cls.text()).find("\"[CLS]\" is not in the vocabulary"), std::string::npos);
    fixture_json no_pad;
    no_pad.pieces[0] = "[NOTHING]";
    EXPECT_NE(load_error(no_pad.text()).find("\"[PAD]\" is not in the vocabulary"), std::string::npos);
    fixture_json odd_template;
    odd_template.post_processor = R"({"type":"TemplateProcessing","single":[{"Sequence":{"id":"A","type_id":0}}]})";
    EXPECT_NE(load_error(odd_template.text()).find("post_processor.single"), std::string::npos);

    std::string no_vocab = good;
    no_vocab.replace(no_vocab.find("\"vocab\":"), 8, "\"vocal\":");
    EXPECT_NE(load_error(no_vocab).find("model.vocab is missing"), std::string::npos);
    std::string dup_id = good;
    dup_id.replace(dup_id.find("\"world\":6"), 9, "\"world\":5");
    EXPECT_NE(load_error(dup_id).find("model.vocab gives id 5 to"), std::string::npos);
    std::string far_id = good;
    far_id.replace(far_id.find("\"world\":6"), 9, "\"world\":9999");
    EXPECT_NE(load_error(far_id).find("is not an id in 0..41"), std::string::npos);
    for (const char* bad : {"1e300", "6.5", "-6", "18446744073709551615"}) {
        std::string odd_id = good;
        odd_id.replace(odd_id.find("\"world\":6"), 9, std::string("\"world\":") + bad);
        EXPECT_NE(load_error(odd_id).find("model.vocab[\"world\"] is not an id in 0..41"), std::string::npos) << bad;
    }
    std::string text_id = good;
    text_id.replace(text_id.find("\"world\":6"), 9, "\"world\":\"6\"");
    EXPECT_NE(load_error(text_id).find("model.vocab[\"world\"]"), std::string::npos);
}

json expectations() { return parse_json_file(expectations_file().string()); }

std::string describe(const std::vector<int32_t>& ids) {
    std::ostringstream s;
    for (size_t i = 0; i < ids.size(); ++i) s << (i ? " " : "") << ids[i];
    return s.str();
}

// HF's normalizer + pre-tokenizer on "a" + c + "a" for every code point, as the script run-length
// coded it, against pre_tokenize(): the check that keeps wordpiece.cpp's exception table honest.
TEST_F(embed_wordpiece, every_code_point_normalizes_and_splits_as_hf) {
    const json ex = expectations();
    const json& sweep = ex.at("codepoint_sweep");
    const json& runs = sweep.at("runs");
    std::map<uint32_t, std::vector<std::string>> explicit_words;
    for (const json& e : sweep.at("explicit")) {
        std::vector<std::string> words;
        for (const json& w : e[1]) words.push_back(w.get<std::string>());
        explicit_words[e[0].get<uint32_t>()] = words;
    }
    ASSERT_GT(runs.size(), 1000u);
    const wordpiece_tokenizer tok(fixture_pieces, wordpiece_options{}); // all-MiniLM-L6-v2's settings
    const auto u8 = [](uint32_t cp) {
        std::string s;
        append_utf8(s, cp);
        return s;
    };
    size_t checked = 0, failures = 0;
    for (size_t r = 0; r < runs.size(); ++r) {
        const auto first = runs[r][0].get<uint32_t>();
        const uint32_t end = r + 1 < runs.size() ? runs[r + 1][0].get<uint32_t>() : 0x110000;
        const std::string kind = runs[r][1].get<std::string>();
        if (kind == "-") continue;
        for (uint32_t cp = first; cp < end; ++cp) {
            const std::string c = u8(cp);
            std::vector<std::string> want;
            if (kind == "k") want = {"a" + c + "a"};
            else if (kind == "d") want = {"aa"};
            else if (kind == "w") want = {"a", "a"};
            else if (kind == "p") want = {"a", c, "a"};
            else if (kind == "x") want = explicit_words.at(cp);
            else if (kind == "h") { // Hangul syllable: NFD gives its leading consonant, vowel and tail
                const uint32_t s = cp - 0xAC00, tail = 0x11A7 + s % 28;
                want = {"a" + u8(0x1100 + s / 588) + u8(0x1161 + (s % 588) / 28) + (tail != 0x11A7 ? u8(tail) : "") + "a"};
            } else if (kind[0] == 'p') {
                want = {"a", u8(cp + static_cast<uint32_t>(std::stoi(kind.substr(1)))), "a"};
            } else {
                want = {"a" + u8(cp + static_cast<uint32_t>(std::stoi(kind))) + "a"};
            }
            const std::vector<std::string> got = tok.pre_tokenize("a" + c + "a");
            ++checked;
            if (got != want && ++failures <= 20) {
                std::ostringstream msg;
                msg << "U+" << std::hex << std::uppercase << cp << " (kind " << kind << "): got";
                for (const auto& w : got) msg << " [" << w << "]";
                msg << ", HF gives";
                for (const auto& w : want) msg << " [" << w << "]";
                ADD_FAILURE() << msg.str();
            }
        }
    }
    EXPECT_EQ(failures, 0u) << "of " << checked << " code points";
    EXPECT_EQ(checked, 0x110000u - 0x800u); // every scalar value
}

TEST_F(embed_wordpiece, matches_hf_tokenizers_on_the_real_vocabulary) {
    const fs::path file = test::local_model("all-minilm-l6-v2/tokenizer.json");
    EPIC_REQUIRE_MODEL(file);
    const wordpiece_tokenizer tok = wordpiece_tokenizer::from_file(file);
    const json ex = expectations();
    ASSERT_EQ(tok.vocab_size(), ex.at("vocab_size").get<size_t>());
    EXPECT_EQ(tok.cls_id(), ex.at("cls_id").get<int32_t>());
    EXPECT_EQ(tok.sep_id(), ex.at("sep_id").get<int32_t>());
    EXPECT_EQ(tok.unk_id(), ex.at("unk_id").get<int32_t>());
    EXPECT_EQ(tok.pad_id(), ex.at("pad_id").get<int32_t>());
    const std::string made_from = "(expectations made from the tokenizer.json with sha256 " +
                                  ex.at("tokenizer_sha256").get<std::string>() + ", tokenizers " +
                                  ex.at("tokenizers_version").get<std::string>() + ")";

    size_t n = 0;
    for (const json& c : ex.at("cases")) {
        std::string text;
        if (c.contains("bytes_hex")) {
            const std::string hex = c.at("bytes_hex").get<std::string>();
            for (size_t i = 0; i + 1 < hex.size(); i += 2) text += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
        } else {
            text = c.at("text").get<std::string>();
        }
        std::vector<int32_t> want;
        for (const json& id : c.at("ids")) want.push_back(id.get<int32_t>());
        const int max_tokens = c.contains("max_tokens") ? c.at("max_tokens").get<int>() : 1 << 20;
        EXPECT_EQ(describe(tok.encode_for_model(text, max_tokens)), describe(want))
            << "text: " << json_quote(text) << " max_tokens " << max_tokens << " " << made_from;
        if (!c.contains("max_tokens")) { // encode() is the same without the frame
            const std::vector<int32_t> body(want.begin() + 1, want.end() - 1);
            EXPECT_EQ(tok.encode(text), body) << json_quote(text);
        }
        ++n;
    }
    EXPECT_GE(n, 40u);
}

} // namespace
} // namespace epic
