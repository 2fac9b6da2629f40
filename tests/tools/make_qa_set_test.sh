#!/usr/bin/env bash
# epic-make-qa-set (tools/make_qa_set): the same seed writes the same bytes; a third of each kind;
# one title per document; a confusable question's answer is in exactly one brief.
#   make_qa_set_test.sh EPIC_MAKE_QA_SET FACTS_JSON      exit 77 = skipped (no python3)
set -euo pipefail
tool="$1"
facts="$2"
command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Needle prose: the GPL text the tool defaults to; a made-up stand-in of the same name where the
# system has none (titles are "<prose file name> part N").
prose=/usr/share/common-licenses/GPL-3
if [ ! -f "$prose" ]; then
    prose="$tmp/GPL-3"
    for i in $(seq 1 200); do
        printf 'Paragraph %d of the stand-in text has a few sentences. They say little. Yet they go on for a while, as licences do.\n\n' "$i"
    done >"$prose"
fi
"$tool" "$tmp/a.jsonl" --facts "$facts" --prose "$prose" --count 9 --seed 5
"$tool" "$tmp/b.jsonl" --facts "$facts" --prose "$prose" --count 9 --seed 5
cmp "$tmp/a.jsonl" "$tmp/b.jsonl" || { echo "FAIL: the same seed wrote different sets"; exit 1; }
"$tool" "$tmp/c.jsonl" --facts "$facts" --prose "$prose" --count 9 --seed 6 >/dev/null
if cmp -s "$tmp/a.jsonl" "$tmp/c.jsonl"; then echo "FAIL: seeds 5 and 6 wrote the same set"; exit 1; fi
python3 - "$tmp/a.jsonl" "$(dirname "$facts")" <<'PY'
import collections, json, os, re, sys
path, library = sys.argv[1:3]
items = [json.loads(line) for line in open(path, encoding="utf-8")]
fail = []
def check(ok, what):
    if not ok:
        fail.append(what)
kinds = collections.Counter(it["kind"] for it in items)
check(kinds == {"fact": 3, "needle": 3, "confusable": 3}, f"kinds {dict(kinds)}, want 3 of each")
for i, it in enumerate(items):
    docs, titles = it["documents"], it.get("titles")
    check(isinstance(titles, list) and len(titles) == len(docs) == 8, f"item {i}: {len(docs)} documents, titles {titles!r}")
    titles = titles or []
    holding = sum(it["answer"] in d for d in docs)
    check(holding >= 1, f"item {i}: answer {it['answer']!r} in no document")
    if it["kind"] == "confusable":
        check(holding == 1, f"item {i}: answer {it['answer']!r} in {holding} documents, want 1")
        for d, t in zip(docs, titles):
            check(re.fullmatch(r"Project brief: [A-Z][a-z]+", t) and d.startswith(t + "\n"), f"item {i}: title {t!r}")
    elif it["kind"] == "needle":
        for t in titles:
            check(re.fullmatch(r"GPL-3 part [1-9][0-9]*", t), f"item {i}: title {t!r}")
        check(len(set(titles)) == len(titles), f"item {i}: a prose piece twice: {titles}")
    else:
        for t in titles:
            check(os.path.isfile(os.path.join(library, t)), f"item {i}: title {t!r} is not a sample-library file")
        check(len(set(titles)) == len(titles), f"item {i}: a document twice: {titles}")
for f in fail:
    print("FAIL:", f)
print(f"{len(items)} questions, {dict(kinds)}: {'ok' if not fail else 'FAILED'}")
sys.exit(1 if fail else 0)
PY
