#!/usr/bin/env bash
# Extraction and chunking of pathological documents (one 10 MB word, CJK without spaces, a 10 MB
# Markdown heading, 10 MB of '&' or '<' in HTML, runs of entities): seconds and MB/s per input, with
# the tests' linear stand-in token counter and, when ../shared/models is there, with real tokenizers
# (Llama 2 sentencepiece, GPT-2 byte-level BPE; their own cost is then part of the time).
#   tests/bench/ingest-pathological.sh [MB] [LIMIT_S]     (default 10 MB, 120 s per input)
# Builds build/tests/ingest-pathological-bench first (nice, -j2). An input still running after
# LIMIT_S seconds is killed and reported as "over LIMIT_S s".
set -euo pipefail
cd "$(dirname "$0")/../.."
mb="${1:-10}"
limit="${2:-120}"
nice -n 19 cmake --build build -j2 --target ingest-pathological-bench >/dev/null
bench=./build/tests/ingest-pathological-bench
shared="${EPIC_SHARED_MODELS:-../shared/models}"
status=0
"$bench" --mb "$mb" --limit-s "$limit" || status=1
for tok in "$shared/tokenizers/llama-vocab-tests/ggml-vocab-llama-spm.gguf" \
           "$shared/tokenizers/llama-vocab-tests/ggml-vocab-gpt-2.gguf"; do
    if [ -f "$tok" ]; then
        echo
        "$bench" --mb "$mb" --limit-s "$limit" --tokenizer "$tok" || status=1
    fi
done
exit $status
