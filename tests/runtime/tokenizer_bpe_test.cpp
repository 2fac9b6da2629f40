// Byte-level BPE (tokenizer.ggml.model = "gpt2"): a vocabulary the test builds itself (bytes plus a
// few merges) checks merge order, special tokens, invalid bytes and errors on every machine; with
// shared data, llama.cpp's GPT-2 and DeepSeek LLM test vectors must come out exactly.
#include "common/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "tokenizer/bpe_tables.h"
#include "tokenizer/bpe_unicode.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_bpe.h"
#include "tokenizer_fixture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

namespace epic {
namespace {

// The byte-mapped text of raw bytes, as vocabularies store tokens.
std::string mapped(const std::string& raw) { return bpe::bytes_to_mapped(raw); }

// A GPT-2 style vocabulary: the 256 byte tokens (ids 0..255 = byte values), then one token per
// merge result, then the extra tokens; merges are given as raw-text pairs, rank = position.
struct tiny_vocab {
    std::vector<std::pair<std::string, std::string>> merges;
    std::vector<std::pair<std::string, int32_t>> extra; // (text as stored, token type)
    std::string pre = "gpt-2";
    std::vector<int> absent_bytes; // bytes whose token is replaced by an unused placeholder

    gguf_writer writer() const {
        std::vector<std::string> tokens;
        std::vector<int32_t> types;
        for (int b = 0; b < 256; ++b) {
            const bool absent = std::find(absent_bytes.begin(), absent_bytes.end(), b) != absent_bytes.end();
            tokens.push_back(absent ? "[UNUSED" + std::to_string(b) + "]" : mapped(std::string(1, static_cast<char>(b))));
            types.push_back(absent ? 5 : 1);
        }
        std::vector<std::string> merge_strings;
        for (const auto& [l, r] : merges) {
            tokens.push_back(mapped(l + r));
            types.push_back(1);
            merge_strings.push_back(mapped(l) + " " + mapped(r));
        }
        for (const auto& [text, type] : extra) {
            tokens.push_back(text);
            types.push_back(type);
        }
        gguf_writer w;
        w.set_string("general.architecture", "llama");
        w.set_string("tokenizer.ggml.model", "gpt2");
        w.set_string("tokenizer.ggml.pre", pre);
        w.set_string_array("tokenizer.ggml.tokens", tokens);
        w.set_i32_array("tokenizer.ggml.token_type", types);
        w.set_string_array("tokenizer.ggml.merges", merge_strings);
        return w;
    }
    int32_t id_of_merge(size_t k) const { return 256 + static_cast<int32_t>(k); }
    int32_t id_of_extra(size_t k) const { return 256 + static_cast<int32_t>(merges.size() + k); }
};

std::unique_ptr<tokenizer> load(const gguf_writer& w, const std::string& name) {
    const auto file = gguf_file::from_bytes(w.to_bytes(), name);
    return tokenizer::from_gguf(*file);
}

std::vector<int32_t> bytes_of(const std::string& s) {
    std::vector<int32_t> ids;
    for (const char c : s) ids.push_back(static_cast<uint8_t>(c));
    return ids;
}

TEST(tokenizer_bpe, byte_mapping_is_gpt2s) {
    EXPECT_EQ(mapped(" "), "\xC4\xA0");     // 'Ġ'
    EXPECT_EQ(mapped("\n"), "\xC4\x8A");    // 'Ċ'
    EXPECT_EQ(mapped("a~!"), "a~!");         // printable ASCII stands for itself
    EXPECT_EQ(mapped("\xE9"), "\xC3\xA9");  // byte 0xE9 -> 'é'
    EXPECT_EQ(bpe::byte_to_codepoint(0x00), 0x100u);
    EXPECT_EQ(bpe::byte_to_codepoint(0x7F), 0x121u);
    EXPECT_EQ(bpe::byte_to_codepoint(0xAD), 0x143u);
    std::vector<uint32_t> seen;
    for (int b = 0; b < 256; ++b) {
        const uint32_t cp = bpe::byte_to_codepoint(static_cast<uint8_t>(b));
        EXPECT_EQ(bpe::codepoint_to_byte(cp), b);
        seen.push_back(cp);
    }
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(std::unique(seen.begin(), seen.end()), seen.end()) << "the mapping must be one to one";
    std::string all;
    for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
    EXPECT_EQ(bpe::mapped_to_bytes(mapped(all)), all);
}

// The flat tables agree with std::map on random keys, through growth, with duplicates: the first
// id of a repeated text and the first rank of a repeated pair win (as the vocabulary order says).
TEST(tokenizer_bpe, lookup_tables_match_a_map) {
    const uint32_t seed = test::fresh_seed();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    std::vector<std::string> pieces;
    std::map<std::string, int32_t> first_id;
    for (int32_t i = 0; i < 5000; ++i) {
        std::string p(rng() % 4, 'a');
        for (char& c : p) c = static_cast<char>('a' + rng() % 5);
        pieces.push_back(p);
        if (!p.empty()) first_id.emplace(p, i);
    }
    bpe::piece_index index;
    index.build(pieces);
    for (const auto& [text, id] : first_id) EXPECT_EQ(index.find(text, pieces), id) << text;
    EXPECT_EQ(index.find("", pieces), -1);
    EXPECT_EQ(index.find("abcde", pieces), -1);

    bpe::merge_table merges; // no reserve: it must grow by itself
    std::map<std::pair<int32_t, int32_t>, bpe::merge_table::merge> expected;
    for (int32_t r = 0; r < 20000; ++r) {
        const int32_t l = static_cast<int32_t>(rng() % 300), rt = static_cast<int32_t>(rng() % 300);
        merges.insert(l, rt, {r, l + rt});
        expected.emplace(std::make_pair(l, rt), bpe::merge_table::merge{r, l + rt});
    }
    EXPECT_EQ(merges.size(), expected.size());
    for (int32_t l = 0; l < 300; ++l)
        for (int32_t rt = 0; rt < 300; ++rt) {
            const auto* m = merges.find(l, rt);
            const auto it = expected.find({l, rt});
            ASSERT_EQ(m != nullptr, it != expected.end()) << l << " " << rt;
            if (m) EXPECT_EQ(m->rank, it->second.rank);
        }
}

// Merges apply lowest rank first wherever they are in the word, not left to right.
TEST(tokenizer_bpe, merges_apply_in_rank_order) {
    tiny_vocab v;
    v.merges = {{"b", "c"}, {"a", "b"}, {"a", "bc"}, {"x", "x"}, {"xx", "x"}};
    const auto tok = load(v.writer(), "tiny.gguf");
    ASSERT_EQ(tok->n_vocab(), 256 + 5);
    EXPECT_EQ(tok->bos(), -1);
    EXPECT_FALSE(tok->add_bos_default());
    // "abc": "b c" (rank 0) beats "a b" (rank 1), then "a bc" (rank 2) completes the word.
    EXPECT_EQ(tok->encode("abc", false), (std::vector<int32_t>{v.id_of_merge(2)}));
    // "ab": only "a b" applies.
    EXPECT_EQ(tok->encode("ab", false), (std::vector<int32_t>{v.id_of_merge(1)}));
    // "abd": "a b" then nothing.
    EXPECT_EQ(tok->encode("abd", false), (std::vector<int32_t>{v.id_of_merge(1), 'd'}));
    // Equal ranks go leftmost first: "xxx" is "x x" at 0, then "xx x" (rank 4).
    EXPECT_EQ(tok->encode("xxx", false), (std::vector<int32_t>{v.id_of_merge(4)}));
    // "xxxx": "x x" twice (leftmost first), then "xx x" cannot apply to "xx xx".
    EXPECT_EQ(tok->encode("xxxx", false), (std::vector<int32_t>{v.id_of_merge(3), v.id_of_merge(3)}));
    // Merges never cross words: " abc" is one word with its space; "abc abc" two words.
    EXPECT_EQ(tok->encode("abc abc", false), (std::vector<int32_t>{v.id_of_merge(2), ' ', v.id_of_merge(2)}));

    // Reversing the first two ranks changes the result: "a b" first, then "ab c" does not exist.
    tiny_vocab r;
    r.merges = {{"a", "b"}, {"b", "c"}, {"a", "bc"}};
    const auto rt = load(r.writer(), "tiny-reversed.gguf");
    EXPECT_EQ(rt->encode("abc", false), (std::vector<int32_t>{r.id_of_merge(0), 'c'}));
}

// Llama 3 and Tekken vocabularies take a word that is itself a token whole (llama.cpp's
// ignore_merges) and add a BOS unless the file says otherwise; GPT-2 style ones merge and add none.
TEST(tokenizer_bpe, whole_word_vocabularies_skip_merges_and_default_to_bos) {
    for (const std::string pre : {"tekken", "llama-bpe", "gpt-2", "qwen2"}) {
        SCOPED_TRACE(pre);
        tiny_vocab v;
        v.pre = pre;
        v.merges = {{"a", "b"}};
        v.extra = {{"abc", 1}, {"<s>", 3}}; // "abc" no merge can build
        gguf_writer w = v.writer();
        w.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(v.id_of_extra(1)));
        const auto tok = load(w, pre + ".gguf");
        const bool whole = pre == "tekken" || pre == "llama-bpe";
        const std::vector<int32_t> expected =
            whole ? std::vector<int32_t>{v.id_of_extra(0)} : std::vector<int32_t>{v.id_of_merge(0), 'c'};
        EXPECT_EQ(tok->encode("abc", false), expected);
        EXPECT_EQ(tok->add_bos_default(), whole);
        w.set_bool("tokenizer.ggml.add_bos_token", false);
        EXPECT_FALSE(load(w, pre + "-no-bos.gguf")->add_bos_default()) << "the file's add_bos_token wins";
    }
}

TEST(tokenizer_bpe, random_text_round_trips_and_matches_a_naive_bpe) {
    const uint32_t seed = test::fresh_seed();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    // Random merges over a small alphabet, applied by a slow reference: repeatedly merge the
    // lowest-ranked adjacent pair, leftmost first.
    const std::string alphabet = "abcd";
    tiny_vocab v;
    std::vector<std::string> pieces(alphabet.size());
    for (size_t i = 0; i < alphabet.size(); ++i) pieces[i] = std::string(1, alphabet[i]);
    while (v.merges.size() < 40) {
        const std::string l = pieces[rng() % pieces.size()], r = pieces[rng() % pieces.size()];
        if (std::find(pieces.begin(), pieces.end(), l + r) != pieces.end() || (l + r).size() > 8) continue;
        v.merges.emplace_back(l, r);
        pieces.push_back(l + r);
    }
    const auto tok = load(v.writer(), "random-merges.gguf");
    const auto naive = [&](const std::string& word) {
        std::vector<std::string> s;
        for (const char c : word) s.emplace_back(1, c);
        for (;;) {
            size_t best = SIZE_MAX, at = 0;
            for (size_t i = 0; i + 1 < s.size(); ++i)
                for (size_t k = 0; k < v.merges.size() && k < best; ++k)
                    if (v.merges[k].first == s[i] && v.merges[k].second == s[i + 1]) {
                        best = k;
                        at = i;
                    }
            if (best == SIZE_MAX) break;
            s[at] += s[at + 1];
            s.erase(s.begin() + static_cast<std::ptrdiff_t>(at) + 1);
        }
        std::vector<int32_t> ids;
        for (const auto& p : s) {
            if (p.size() == 1) ids.push_back(static_cast<uint8_t>(p[0]));
            else for (size_t k = 0; k < v.merges.size(); ++k)
                if (v.merges[k].first + v.merges[k].second == p) { ids.push_back(v.id_of_merge(k)); break; }
        }
        return ids;
    };
    for (int i = 0; i < 300; ++i) {
        std::string word;
        const size_t n = 1 + rng() % 24;
        for (size_t k = 0; k < n; ++k) word.push_back(alphabet[rng() % alphabet.size()]);
        SCOPED_TRACE(word);
        EXPECT_EQ(tok->encode(word, false), naive(word));
    }
    for (int i = 0; i < 200; ++i) {
        const std::string text = (i % 2) ? test::random_utf8(rng, 40) : test::random_bytes(rng, 60);
        SCOPED_TRACE(::testing::PrintToString(text));
        const auto ids = tok->encode(text, false);
        EXPECT_EQ(tok->decode(ids), text);
        std::string streamed;
        for (const int32_t id : ids) streamed += tok->token_bytes(id);
        EXPECT_EQ(streamed, text);
    }
}

TEST(tokenizer_bpe, invalid_bytes_are_single_byte_tokens) {
    tiny_vocab v;
    v.merges = {{"a", "b"}, {"\xC3", "\xA9"}}; // "é" as one token
    const auto tok = load(v.writer(), "tiny.gguf");
    EXPECT_EQ(tok->encode("\xC3\xA9", false), (std::vector<int32_t>{v.id_of_merge(1)}));
    // A lone lead byte, a stray continuation, an overlong form, a surrogate, beyond U+10FFFF: each
    // byte is its own token, even between letters that would otherwise merge.
    for (const std::string bad : {"\xC3", "\xA9", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xFF"}) {
        SCOPED_TRACE(::testing::PrintToString(bad));
        std::vector<int32_t> expected = {v.id_of_merge(0)};
        for (const int32_t b : bytes_of(bad)) expected.push_back(b);
        expected.push_back(v.id_of_merge(0));
        const std::string text = "ab" + bad + "ab";
        EXPECT_EQ(tok->encode(text, false), expected);
        EXPECT_EQ(tok->decode(tok->encode(text, false)), text);
    }
    // "é" followed by a stray continuation byte: the valid pair still merges.
    EXPECT_EQ(tok->encode("\xC3\xA9\xA9", false), (std::vector<int32_t>{v.id_of_merge(1), 0xA9}));
}

// A byte the vocabulary has no token for is dropped, as llama.cpp drops it (SmolLM2 lacks 0x13 and
// 0xF1, among others); the unknown token is never emitted for it (SmolLM2's is <|endoftext|>).
TEST(tokenizer_bpe, bytes_the_vocabulary_lacks_are_dropped) {
    tiny_vocab v;
    v.absent_bytes = {0x13, 0xF1};
    v.merges = {{"a", "b"}};
    gguf_writer w = v.writer();
    w.set_u32("tokenizer.ggml.unknown_token_id", 0);
    const auto tok = load(w, "holes.gguf");
    EXPECT_EQ(tok->encode("ab\x13" "ab", false), (std::vector<int32_t>{v.id_of_merge(0), v.id_of_merge(0)}));
    // U+4xxxx starts with 0xF1: its three continuation bytes remain.
    EXPECT_EQ(tok->encode("\xF1\x80\x80\x80", false), (std::vector<int32_t>{0x80, 0x80, 0x80}));
    // An invalid lone 0xF1 is dropped too.
    EXPECT_EQ(tok->encode("a\xF1", false), (std::vector<int32_t>{'a'}));
}

TEST(tokenizer_bpe, special_tokens) {
    tiny_vocab v;
    v.merges = {{"<", "|"}};
    v.extra = {{"<|im_start|>", 3}, {"<|im_end|>", 3}, {"<tool>", 4}, {"<|im", 4}};
    gguf_writer w = v.writer();
    w.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(v.id_of_extra(0)));
    w.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(v.id_of_extra(1)));
    w.set_bool("tokenizer.ggml.add_bos_token", true);
    const auto tok = load(w, "chat.gguf");
    const int32_t start = v.id_of_extra(0), end = v.id_of_extra(1), tool = v.id_of_extra(2), im = v.id_of_extra(3);
    EXPECT_EQ(tok->bos(), start);
    EXPECT_EQ(tok->eos(), end);
    EXPECT_TRUE(tok->add_bos_default());
    EXPECT_TRUE(tok->is_control(start));
    EXPECT_FALSE(tok->is_control(tool));
    EXPECT_FALSE(tok->is_control('a'));
    EXPECT_EQ(tok->token_bytes(start), "");
    EXPECT_EQ(tok->token_bytes(tool), "<tool>");

    const std::string text = "<|im_start|>user\nhi<tool><|im_end|>";
    // Parsed: control tokens become their ids; the longer "<|im_start|>" wins over "<|im".
    const std::vector<int32_t> parsed = tok->encode_with_specials(text, false);
    std::vector<int32_t> expected = {start};
    for (const int32_t b : bytes_of("user\nhi")) expected.push_back(b);
    expected.push_back(tool);
    expected.push_back(end);
    EXPECT_EQ(parsed, expected);
    // As text: control tokens stay text, but user-defined tokens are still matched (llama.cpp does
    // the same), so "<|im" is found inside "<|im_start|>".
    const std::vector<int32_t> plain = tok->encode(text, false);
    EXPECT_EQ(std::count(plain.begin(), plain.end(), start), 0);
    EXPECT_EQ(std::count(plain.begin(), plain.end(), end), 0);
    EXPECT_EQ(plain.front(), im);
    EXPECT_EQ(std::count(plain.begin(), plain.end(), tool), 1);
    EXPECT_EQ(tok->decode(plain), text);
    // BOS on request.
    const auto with_bos = tok->encode("hi", true);
    EXPECT_EQ(with_bos, (std::vector<int32_t>{start, 'h', 'i'}));
    // Adjacent and repeated specials.
    EXPECT_EQ(tok->encode_with_specials("<|im_end|><|im_end|><tool>", false), (std::vector<int32_t>{end, end, tool}));
}

TEST(tokenizer_bpe, malformed_vocabularies_are_errors_naming_the_file) {
    const auto expect_error = [](const gguf_writer& w, const std::string& name, const std::string& what) {
        const auto file = gguf_file::from_bytes(w.to_bytes(), name);
        try {
            tokenizer::from_gguf(*file);
            ADD_FAILURE() << "expected epic::error for " << name;
        } catch (const error& e) {
            const std::string msg = e.what();
            EXPECT_NE(msg.find(name), std::string::npos) << msg;
            EXPECT_NE(msg.find(what), std::string::npos) << msg;
        }
    };
    tiny_vocab v;
    v.merges = {{"a", "b"}};
    gguf_writer no_merges = v.writer();
    no_merges.set_string_array("tokenizer.ggml.merges", {});
    EXPECT_NO_THROW(load(no_merges, "empty-merges.gguf")); // a byte-only vocabulary is valid
    gguf_writer bad_merge = v.writer();
    bad_merge.set_string_array("tokenizer.ggml.merges", {"ab"});
    expect_error(bad_merge, "bad-merge.gguf", "tokenizer.ggml.merges[0]");
    gguf_writer bad_pre = v.writer();
    bad_pre.set_string("tokenizer.ggml.pre", "klingon");
    expect_error(bad_pre, "bad-pre.gguf", "klingon");
    gguf_writer bad_bos = v.writer();
    bad_bos.set_u32("tokenizer.ggml.bos_token_id", 100000);
    expect_error(bad_bos, "bad-bos.gguf", "bos_token_id");
    gguf_writer bad_type = v.writer();
    bad_type.set_i32_array("tokenizer.ggml.token_type", {1, 2, 3});
    expect_error(bad_type, "bad-types.gguf", "token_type");
    const auto tok = load(v.writer(), "tiny.gguf");
    EXPECT_THROW(tok->token_bytes(tok->n_vocab()), error);
    EXPECT_THROW(tok->token_bytes(-1), error);
}

// Every pre-tokenizer this runtime names compiles, and splits text into words that cover it.
TEST(tokenizer_bpe, every_pretokenizer_covers_its_text) {
    const uint32_t seed = test::fresh_seed();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    for (const std::string& name : bpe_pretokenizer::known_names()) {
        SCOPED_TRACE(name);
        bpe_pretokenizer pre(name, "test");
        for (int i = 0; i < 30; ++i) {
            const std::string text = test::random_utf8(rng, 30);
            std::vector<std::string_view> words;
            pre.split(text, words);
            std::string joined;
            for (const auto w : words) {
                EXPECT_FALSE(w.empty());
                joined += w;
            }
            EXPECT_EQ(joined, text);
        }
    }
    // GPT-2's rules on a known sentence.
    bpe_pretokenizer gpt2("gpt-2", "test");
    std::vector<std::string_view> words;
    gpt2.split("Hello world, it's 2024!  \n", words);
    EXPECT_EQ(words, (std::vector<std::string_view>{"Hello", " world", ",", " it", "'s", " 2024", "!", "  \n"}));
}

// llama.cpp's vocabulary test vectors (test-tokenizer-0: no BOS, specials not parsed).
class tokenizer_bpe_shared : public ::testing::TestWithParam<const char*> {};

TEST_P(tokenizer_bpe_shared, matches_llama_cpp_vectors) {
    const auto vocab = test::shared_model(std::string("tokenizers/llama-vocab-tests/") + GetParam());
    EPIC_REQUIRE_SHARED(vocab);
    const auto file = gguf_file::open(vocab.string());
    const auto tok = tokenizer::from_gguf(*file);
    const auto vectors = test::read_vocab_vectors(vocab.string() + ".inp");
    ASSERT_GE(vectors.size(), 30u);
    for (const auto& v : vectors) {
        SCOPED_TRACE(::testing::PrintToString(v.text));
        const auto ids = tok->encode(v.text, false);
        EXPECT_EQ(ids, v.ids);
        EXPECT_EQ(tok->decode(ids), v.text);
    }
}

TEST_P(tokenizer_bpe_shared, random_text_round_trips) {
    const auto vocab = test::shared_model(std::string("tokenizers/llama-vocab-tests/") + GetParam());
    EPIC_REQUIRE_SHARED(vocab);
    const auto file = gguf_file::open(vocab.string());
    const auto tok = tokenizer::from_gguf(*file);
    const uint32_t seed = test::fresh_seed();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    for (int i = 0; i < 300; ++i) {
        const std::string text = test::random_utf8(rng, 40);
        SCOPED_TRACE(::testing::PrintToString(text));
        const auto ids = tok->encode(text, false);
        EXPECT_EQ(tok->decode(ids), text);
        for (const int32_t id : ids) EXPECT_FALSE(tok->is_control(id)) << id;
    }
}

INSTANTIATE_TEST_SUITE_P(vocabs, tokenizer_bpe_shared,
                         ::testing::Values("ggml-vocab-gpt-2.gguf", "ggml-vocab-deepseek-llm.gguf"),
                         [](const auto& info) {
                             std::string n = info.param;
                             n = n.substr(11, n.size() - 16); // "ggml-vocab-" ... ".gguf"
                             std::replace(n.begin(), n.end(), '-', '_');
                             return n;
                         });

// GPT-2 has every byte as a normal token: invalid UTF-8 round-trips byte for byte.
TEST(tokenizer_bpe_gpt2, random_bytes_round_trip) {
    const auto vocab = test::shared_model("tokenizers/llama-vocab-tests/ggml-vocab-gpt-2.gguf");
    EPIC_REQUIRE_SHARED(vocab);
    const auto file = gguf_file::open(vocab.string());
    const auto tok = tokenizer::from_gguf(*file);
    EXPECT_EQ(tok->bos(), 50256);
    EXPECT_TRUE(tok->is_control(50256));
    const auto as_text = tok->encode("<|endoftext|>", false);
    EXPECT_GT(as_text.size(), 1u);
    EXPECT_EQ(std::count(as_text.begin(), as_text.end(), 50256), 0);
    EXPECT_EQ(tok->encode_with_specials("<|endoftext|>", false), (std::vector<int32_t>{50256}));
    const uint32_t seed = test::fresh_seed();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    for (int i = 0; i < 300; ++i) {
        const std::string text = test::random_bytes(rng, 60);
        SCOPED_TRACE(::testing::PrintToString(text));
        EXPECT_EQ(tok->decode(tok->encode(text, false)), text);
    }
}

} // namespace
} // namespace epic
