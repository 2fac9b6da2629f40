#!/usr/bin/env python3
"""Writes tests/data/embed/wordpiece_expectations.json: what Hugging Face `tokenizers` makes of tricky
text with all-MiniLM-L6-v2's tokenizer.json, which tests/runtime/embed_wordpiece_test.cpp requires the
C++ wordpiece_tokenizer to reproduce id for id. A tool run by hand; neither the tests nor the app run it.

    pip install tokenizers
    python3 tests/data/embed/make_wordpiece_expectations.py [--tokenizer models/all-minilm-l6-v2/tokenizer.json]
    python3 tests/data/embed/make_wordpiece_expectations.py --show 1734-1736    # HF's words for "a" + c + "a"

The JSON holds
  cases: {"text": str, "ids": [...]}: ids of tokenizer.encode(text, add_special_tokens=True), padding
         and truncation switched off (the file itself asks for both at 128), special-token text read as
         plain text (encode_special_tokens = True, as the C++ tokenizer does). Variants:
         - "bytes_hex" instead of "text": raw bytes, invalid UTF-8 among them; HF sees
           bytes.decode("utf-8", errors="replace") (its U+FFFD are then dropped by clean_text);
         - "max_tokens": n: HF's own truncation to n tokens, [CLS] and [SEP] included;
         - "hf_default_ids": where HF's default (special tokens matched in the text) differs.
  codepoint_sweep: HF's normalizer + pre-tokenizer on "a" + chr(cp) + "a" for every code point,
         run-length coded (see SWEEP_ABOUT); "x" runs are spelled out in "explicit".
"""
import argparse
import hashlib
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))

LONG_WORD_100 = "a" * 100   # exactly max_input_chars_per_word: still cut into pieces
LONG_WORD_101 = "b" * 101   # one more: the whole word is [UNK]
PASSAGE = (
    "Retrieval-augmented generation combines a search step with a language model: the question is "
    "embedded, the nearest passages are found by cosine similarity, and the model answers from them. "
    "Dense retrievers such as all-MiniLM-L6-v2 map each sentence to a 384-dimensional vector; "
    "sentence-transformers truncates inputs at 256 word pieces (the tokenizer.json says 128), so a long "
    "chunk loses its tail unless it is split into windows whose embeddings are averaged. "
) * 3

TEXTS = [
    "",
    "   ",
    "Hello, world!",
    "Café Résumé naïve façade coöperate",
    "Straße STRASSE ẞ groß",
    "İstanbul ISTANBUL ıi İi",
    "Ελληνικά: Καλημέρα κόσμε, ΣΊΣΥΦΟΣ ς",
    "Привет, мир! Ёлка Й й",
    "東京タワーは333メートルです。Tokyo Tower is 333m tall.",
    "ひらがな カタカナ ｶﾀｶﾅ ﾊﾟﾋﾟ",
    "中文English混合123测试，标点！",
    "한국어 텍스트 입니다",
    "Emoji: 😀👍🏽 🎉 ❤️ ✨done",
    "family: 👨\u200d👩\u200d👧\u200d👦 and 🏳️\u200d🌈",
    "zero\u200bwidth\u200cnon\u200djoiner\ufeffbom\u00adsoft\u2060wj",
    "ctrl\x00char\x07bell\x1bescape\x7fdel\x9fc1",
    "tab\tnew\nline\r\ncarriage\x0bvt\x0cff\x85nel end",
    "Wait... what?!?! Really?!... --- ***",
    "don't can't it's O'Reilly rock'n'roll",
    "\u201cCurly quotes\u201d and \u2018single\u2019 and \u201eGerman\u201c \u00abguillemets\u00bb it\u2019s",
    "state-of-the-art well-known e-mail re-enter \u2013 en \u2014 em",
    "1,234,567.89 3.14159 -42 +7 1e-10 50% $100 €20 £5 ¥300",
    "https://www.example.com/path/to_page?query=1&x=y#frag",
    "user.name+tag@example.co.uk <mailto:a@b.c>",
    "short " + LONG_WORD_100 + " end",
    "short " + LONG_WORD_101 + " end",
    "unknown ☃snowman hello𓀀world ok",
    "e\u0301 n\u0303 a\u0308\u0304 Zalgo: Z\u0334\u0321\u032aa\u0337l\u0334g\u0337o\u0336",
    "ＦＵＬＬ\u3000ＷＩＤＴＨ\u3000１２３！？",
    "non\u00a0breaking\u2009thin\u202fnarrow\u3000ideographic\u2003em",
    "line\u2028sep\u2029para",
    "Ligature ﬁne ﬂow Æsir œuvre Ĳssel",
    "\u212b \u00c5 A\u030a \u2126 \u212a",
    "Roman Ⅻ ⅻ ① ²³ ½ ℃",
    "math: x² + y² = z², ∑∞ ≠ ≤ ≥ ± ∉",
    "Arabic: مرحبا بالعالم Hebrew: שָׁלוֹם",
    "Hindi: नमस्ते दुनिया",
    "Thai: สวัสดีครับ",
    "Vietnamese: Tiếng Việt có dấu",
    "Polish: Zażółć gęślą jaźń Łódź",
    "Special tokens [CLS] [SEP] [MASK] [UNK] [PAD] in text",
    "##subword ## # #hash",
    "UPPER lower MiXeD CamelCase iPhone XMLHttpRequest",
    "a\u0000b\ufffdc",
    "private\ue000use \U000f0000 plane15",
    "(a)[b]{c}<d> `code` ~tilde^ |pipe| \\back/",
    "C++ C# .NET node.js",
    "snake_case_identifier and __dunder__",
    "𝕳𝖊𝖑𝖑𝖔 𝐁𝐨𝐥𝐝",
    "3D-printing 24/7 9:30am 2024-01-15 v1.2.3",
    # Characters utf8proc (Unicode 15) and HF's Unicode 8 tables class differently (wordpiece.cpp's
    # exception table): new marks and punctuation kept, U+1734 still a mark, U+166D still punctuation.
    "new a\u08cab \u2e52c d\u1734e f\u166dg h\U000111c9i j\U00011938k \u061d \u1c89",
    # HF's CJK ranges: U+2B820..U+2B91F are not among them, U+2B920 and U+20000 are.
    "x\U0002b820y x\U0002b920y x\U00020000y",
    "MusicalSymbol \U0001d15f\U0001d165\U0001d16e end",
    "Dutch ĳ, Catalan l·l, Spanish ¿Qué? ¡Sí!",
    PASSAGE,
]

# Invalid UTF-8: each must come out as HF tokenizes Python's replacement-decoded text.
BYTES = [
    b"ab\xffcd",
    b"caf\xc3\xa9 \xff\xfe invalid",
    b"\xe2\x82 truncated \xe2\x82\xac euro",
    b"\xc0\xaf overlong \xed\xa0\x80 surrogate \xf4\x90\x80\x80 too big",
    b"end\xf0\x9f\x98",
    b"\x80\x80lead\xbf",
]

# HF's own truncation (the file's "LongestFirst" on one sequence): the C++ encode_for_model must agree.
TRUNCATED = [
    (PASSAGE, 128),
    (PASSAGE, 16),
    ("unbelievably", 3),   # cut between word pieces
    ("unbelievably", 2),   # nothing but [CLS] [SEP]
    ("hi", 64),            # shorter than the limit
]

SWEEP_ABOUT = (
    "HF normalizer + pre-tokenizer words of 'a' + chr(cp) + 'a' for every code point. runs: [first_cp, kind], "
    "each run lasting to the next. kind: '-' surrogates (skipped); 'k' one word a c a; 'd' ['aa'] (dropped); "
    "'w' ['a', 'a'] (whitespace); 'p' ['a', c, 'a'] (punctuation or CJK); '+N' one word a chr(cp+N) a; "
    "'p+N' ['a', chr(cp+N), 'a']; 'h' one word a + the Hangul syllable's NFD jamo + a; 'x' see explicit."
)


def hangul_nfd(cp):
    s = cp - 0xAC00
    if not 0 <= s < 11172:
        return None
    lead, vowel, tail = 0x1100 + s // 588, 0x1161 + (s % 588) // 28, 0x11A7 + s % 28
    return chr(lead) + chr(vowel) + (chr(tail) if tail != 0x11A7 else "")


def sweep_words(tok, cp):
    s = "a" + chr(cp) + "a"
    return [w for w, _ in tok.pre_tokenizer.pre_tokenize_str(tok.normalizer.normalize_str(s))]


def sweep_kind(cp, words):
    if 0xD800 <= cp < 0xE000:
        return "-"
    c = chr(cp)
    if words == ["a" + c + "a"]:
        return "k"
    if words == ["aa"]:
        return "d"
    if words == ["a", "a"]:
        return "w"
    if words == ["a", c, "a"]:
        return "p"
    if len(words) == 1 and len(words[0]) == 3 and words[0][0] == "a" and words[0][2] == "a":
        return "%+d" % (ord(words[0][1]) - cp)
    if len(words) == 3 and words[0] == "a" and words[2] == "a" and len(words[1]) == 1:
        return "p%+d" % (ord(words[1]) - cp)
    if hangul_nfd(cp) and words == ["a" + hangul_nfd(cp) + "a"]:
        return "h"
    return "x"


def codepoint_sweep(tok):
    runs, explicit = [], []
    for cp in range(0x110000):
        words = [] if 0xD800 <= cp < 0xE000 else sweep_words(tok, cp)
        kind = sweep_kind(cp, words)
        if kind == "x":
            explicit.append([cp, words])
        if not runs or runs[-1][1] != kind:
            runs.append([cp, kind])
    return {"about": SWEEP_ABOUT, "runs": runs, "explicit": explicit}


# Characters an editor or terminal would hide or mangle are written as \u escapes.
_INVISIBLE = re.compile("[\u007f-\u00a0\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
                        "\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\u3164\ufe00-\ufe0f\ufeff\ufff0-\uffff"
                        "\ue000-\uf8ff\U000f0000-\U0010ffff]")


def dump(value):
    text = json.dumps(value, ensure_ascii=False)
    return _INVISIBLE.sub(lambda m: "\\u%04x" % ord(m.group()) if ord(m.group()) < 0x10000 else
                          "\\u%04x\\u%04x" % (0xD800 + ((ord(m.group()) - 0x10000) >> 10),
                                              0xDC00 + ((ord(m.group()) - 0x10000) & 0x3FF)), text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokenizer", default=os.path.join(ROOT, "models", "all-minilm-l6-v2", "tokenizer.json"))
    ap.add_argument("--out", default=os.path.join(HERE, "wordpiece_expectations.json"))
    ap.add_argument("--show", help="FIRST-LAST (hex): print HF's words for 'a' + c + 'a' and exit")
    args = ap.parse_args()

    import tokenizers
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(args.tokenizer)
    tok.no_padding()
    tok.no_truncation()
    tok.encode_special_tokens = True

    if args.show:
        first, _, last = args.show.partition("-")
        for cp in range(int(first, 16), int(last or first, 16) + 1):
            if not 0xD800 <= cp < 0xE000:
                words = sweep_words(tok, cp)
                print("U+%04X %-4s %s" % (cp, sweep_kind(cp, words), dump(words)))
        return

    default = Tokenizer.from_file(args.tokenizer)
    default.no_padding()
    default.no_truncation()

    cases = []
    for text in TEXTS:
        ids = tok.encode(text, add_special_tokens=True).ids
        case = {"text": text, "ids": ids}
        hf_default = default.encode(text, add_special_tokens=True).ids
        if hf_default != ids:
            case["hf_default_ids"] = hf_default
        cases.append(case)
    for raw in BYTES:
        text = raw.decode("utf-8", errors="replace")
        cases.append({"bytes_hex": raw.hex(), "ids": tok.encode(text, add_special_tokens=True).ids})
    for text, n in TRUNCATED:
        tok.enable_truncation(max_length=n)
        cases.append({"text": text, "max_tokens": n, "ids": tok.encode(text, add_special_tokens=True).ids})
        tok.no_truncation()
        assert len(cases[-1]["ids"]) <= n

    with open(args.tokenizer, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    sweep = codepoint_sweep(tok)
    vocab = tok.get_vocab()
    header = {
        "about": "Hugging Face tokenizers' ids for tricky text (tests/data/embed/make_wordpiece_expectations.py)",
        "tokenizers_version": tokenizers.__version__,
        "tokenizer_sha256": digest,
        "vocab_size": tok.get_vocab_size(),
        "cls_id": vocab["[CLS]"], "sep_id": vocab["[SEP]"], "unk_id": vocab["[UNK]"], "pad_id": vocab["[PAD]"],
    }
    lines = ["{"]
    for key, value in header.items():
        lines.append("%s: %s," % (dump(key), dump(value)))
    lines.append('"cases": [')
    lines.append(",\n".join(dump(c) for c in cases))
    lines.append("],")
    lines.append('"codepoint_sweep": {')
    lines.append('"about": %s,' % dump(sweep["about"]))
    lines.append('"runs": [')
    per_line = 12
    runs = sweep["runs"]
    lines.append(",\n".join(", ".join(dump(r) for r in runs[i:i + per_line]) for i in range(0, len(runs), per_line)))
    lines.append("],")
    lines.append('"explicit": [')
    lines.append(",\n".join(dump(e) for e in sweep["explicit"]))
    lines.append("]}}")
    text = "\n".join(lines) + "\n"
    json.loads(text)  # still valid JSON after the escaping
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    print("%s: %d cases, %d sweep runs, %d explicit code points (tokenizers %s)"
          % (args.out, len(cases), len(runs), len(sweep["explicit"]), tokenizers.__version__))


if __name__ == "__main__":
    sys.exit(main())
