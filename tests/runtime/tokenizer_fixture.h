#pragma once
// Shared by the tokenizer tests: a tiny sentencepiece BPE model trained at test time (so the
// always-run tests need no shared data), and random text generators.
#include "common/utf8.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>
#include <sentencepiece_trainer.h>

#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace epic::test {

using epic::append_utf8; // common/utf8.h

// Random valid UTF-8 text: English-like words, accents, CJK, emoji (with modifiers and ZWJ),
// spaces (single, repeated, leading, trailing), newlines, tabs, digits, any code point, NUL.
inline std::string random_utf8(std::mt19937& rng, size_t max_items) {
    static const std::vector<std::string> words = {
        "the", "cat", "sat", "on", "a", "mat", "Hello", "world", "tokenizer", "Once", "upon", "time", "little",
        "café", "naïve", "über", "señor", "garçon", "Ærø", "中文", "日本語", "한국어", "😀", "🎉", "👍🏽",
        "👩‍💻", "Привет", "Γειά", "مرحبا", "1234567", "3.14", "<s>", "</s>", "<unk>", "▁", "__", "...",
    };
    std::uniform_int_distribution<size_t> n_items(0, max_items), pick(0, words.size() - 1);
    std::uniform_int_distribution<int> kind(0, 9);
    std::string s;
    const size_t n = n_items(rng);
    for (size_t i = 0; i < n; ++i) {
        switch (kind(rng)) {
        case 0: s += ' '; break;
        case 1: s += (rng() % 2) ? "\n" : "\t"; break;
        case 2: s += "  "; break;
        case 3: { // any valid code point, surrogates excluded
            uint32_t cp = rng() % 0x110000;
            if (cp >= 0xD800 && cp < 0xE000) cp -= 0x1000;
            append_utf8(s, cp);
            break;
        }
        case 4: append_utf8(s, static_cast<uint32_t>(rng() % 0x80)); break; // ASCII incl. NUL and controls
        default: s += words[pick(rng)]; if (rng() % 3) s += ' '; break;
        }
    }
    return s;
}

// Random bytes, usually not valid UTF-8, sometimes spliced with valid text.
inline std::string random_bytes(std::mt19937& rng, size_t max_len) {
    std::uniform_int_distribution<size_t> len(0, max_len);
    std::string s;
    const size_t n = len(rng);
    while (s.size() < n) {
        if (rng() % 4 == 0) s += random_utf8(rng, 3);
        else s.push_back(static_cast<char>(rng() & 0xFF));
    }
    return s;
}

// What decode(encode(text)) gives: the text itself, except that a literal U+2581 '▁' in the input
// is sentencepiece's escaped space and comes back as ' ' (llama.cpp does the same).
inline std::string expected_round_trip(const std::string& text) {
    std::string out;
    for (size_t i = 0; i < text.size();) {
        if (text.compare(i, 3, "\xE2\x96\x81") == 0) {
            out.push_back(' ');
            i += 3;
        } else {
            out.push_back(text[i++]);
        }
    }
    return out;
}

// llama.cpp's vocabulary test vectors: `<vocab>.inp` holds the strings separated by
// "\n__ggml_vocab_test__\n" (the file ends with one, so the last split piece is empty and not a
// string); `<vocab>.out` holds one line of space-separated ids per string, no BOS (test-tokenizer-0
// tokenizes with add_special = false, parse_special = false).
struct vocab_vector {
    std::string text;
    std::vector<int32_t> ids;
};

inline std::vector<vocab_vector> read_vocab_vectors(const std::string& inp_path) {
    const auto slurp = [](const std::string& p) {
        std::ifstream in(p, std::ios::binary);
        if (!in) throw std::runtime_error("cannot read " + p);
        return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    };
    const std::string inp = slurp(inp_path);
    const std::string out = slurp(inp_path.substr(0, inp_path.size() - 4) + ".out");
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<vocab_vector> v;
    for (size_t pos = 0;;) {
        const size_t end = inp.find(sep, pos);
        if (end == std::string::npos) break;
        v.push_back({inp.substr(pos, end - pos), {}});
        pos = end + sep.size();
    }
    std::istringstream lines(out);
    std::string line;
    for (auto& vec : v) {
        if (!std::getline(lines, line)) throw std::runtime_error("fewer id lines than strings in " + inp_path);
        std::istringstream ids(line);
        for (int32_t id; ids >> id;) vec.ids.push_back(id);
    }
    return v;
}

// A seed for one test, printed on failure.
inline uint32_t fresh_seed() { return std::random_device{}(); }

// A tiny BPE model trained at test time, Llama-style (byte fallback, identity normalization, dummy
// prefix, whitespace kept). `prefix.model` is written in `dir`; `serialized` holds the same proto.
struct trained_spm {
    std::string model_path;
    std::string serialized;
};

inline trained_spm train_tiny_spm(const scratch_dir& dir, uint32_t seed, int vocab_size = 320) {
    std::mt19937 rng(seed);
    const std::string corpus = (dir / "corpus.txt").string();
    {
        std::ofstream out(corpus, std::ios::binary);
        static const std::vector<std::string> words = {
            "the", "cat", "sat", "on", "mat", "and", "little", "girl", "named", "lily", "once", "upon",
            "a", "time", "there", "was", "dog", "happy", "played", "park", "café", "naïve", "hello", "world",
        };
        for (int line = 0; line < 400; ++line) {
            const int n = 3 + static_cast<int>(rng() % 12);
            for (int w = 0; w < n; ++w) out << (w ? " " : "") << words[rng() % words.size()];
            out << (line % 50 == 0 ? " 中文 😀 123\n" : ".\n");
        }
    }
    trained_spm t;
    t.model_path = (dir / "tiny.model").string();
    const std::string args = "--input=" + corpus + " --model_prefix=" + (dir / "tiny").string() +
                             " --model_type=bpe --vocab_size=" + std::to_string(vocab_size) +
                             " --byte_fallback=true --normalization_rule_name=identity"
                             " --remove_extra_whitespaces=false --add_dummy_prefix=true --split_digits=true"
                             " --allow_whitespace_only_pieces=true --character_coverage=0.9995"
                             " --hard_vocab_limit=false --num_threads=1 --minloglevel=2";
    const auto status = sentencepiece::SentencePieceTrainer::Train(args);
    if (!status.ok()) throw std::runtime_error("sentencepiece training failed: " + status.ToString());
    std::ifstream in(t.model_path, std::ios::binary);
    t.serialized.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (t.serialized.empty()) throw std::runtime_error("trained model missing: " + t.model_path);
    return t;
}

} // namespace epic::test
