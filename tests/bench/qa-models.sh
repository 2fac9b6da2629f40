#!/usr/bin/env bash
# Answer accuracy of the instruct models side by side, on one seeded question set (fact, needle and
# confusable questions, 8 documents each): full recompute and the link designs given, greedy, each
# paired with full recompute on the same questions (95% intervals).
#   tests/bench/qa-models.sh [OUT_DIR]      (env: COUNT=200 ALGOS=... THREADS=2 MODELS="a.gguf b.gguf" LIMIT=N ORDER=retrieval)
# Documents are laid out as the service lays out what it retrieves (BM25, best nearest the question);
# ORDER=set keeps the set's order.
# Each model's table goes to OUT_DIR/<model>.txt (a partial table every 20 questions, so a run cut
# short still reports what it answered) and its Markdown table to OUT_DIR/<model>.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-build/qa-models}"
count="${COUNT:-200}"
# The paper's algorithms, then the designs beyond it, the app's default last.
algos="${ALGOS:-full,naive,legolink-16,cacheblend-0.15,legolink-16+hdr+tail-16,naive+hdr+last-1,default}"
order="${ORDER:-retrieval}"
limit="${LIMIT:-$count}"
threads="${THREADS:-2}"
models="${MODELS:-models/smollm2-135m-instruct-q4_1.gguf models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf}"
epic=./build/runtime/epic
make_set=./build/tools/make_qa_set/epic-make-qa-set  # built with the tests (not installed)
mkdir -p "$out"
set_file="$out/qa-$count.jsonl"
# Made once and reused (several runs of this script may share an OUT_DIR, e.g. one per model).
if [ ! -f "$set_file" ]; then
    [ -x "$make_set" ] || { echo "qa-models: $make_set is missing (build with -DEPIC_TESTS=ON)"; exit 1; }
    "$make_set" "$set_file" --count "$count" --seed 1
fi
for m in $models; do
    [ -f "$m" ] || { echo "qa-models: $m is missing (installer/get-models.sh fetches it); skipped"; continue; }
    name=$(basename "$m" .gguf)
    echo "== $name"
    EPIC_THREADS="$threads" "$epic" bench qa --model "$m" --set "$set_file" --algos "$algos" --order "$order" --report-every 20 \
        --limit "$limit" --threads "$threads" --markdown "$out/$name.md" | tee "$out/$name.txt"
done
