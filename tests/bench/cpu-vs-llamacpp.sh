#!/usr/bin/env bash
# CPU throughput of EPIC against llama.cpp on the same GGUF files, in one run, as a Markdown table:
# prefill (llama-bench pp512 vs `epic bench prefill --tokens 512`) and decode (llama-bench tg64 vs
# `epic bench decode --tokens 64`), tokens/s and the ratio epic / llama.cpp.
#
#   LLAMACPP_DIR=/work/llamacpp/build bash tests/bench/cpu-vs-llamacpp.sh models/a.gguf [models/b.gguf ...]
#
# LLAMACPP_DIR: a llama.cpp build folder (bin/llama-bench inside) or the folder holding llama-bench.
# llama.cpp is built from source outside this repo, CPU only, e.g.
#   cmake -S llama.cpp -B build -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
#         -DBUILD_SHARED_LIBS=ON -DLLAMA_BUILD_TESTS=OFF && cmake --build build -j --target llama-bench
# Settings (environment): THREADS (2), PROMPT (512), GEN (64), RUNS (3: llama-bench -r, epic --runs),
# EPIC (build/runtime/epic), SKIP_EPIC=1 (llama.cpp column only, e.g. for an architecture EPIC
# cannot load yet), SKIP_LLAMACPP=1 (EPIC column only), OUT (also write the table to this file).
# Both report the mean (llama.cpp) / median (EPIC) over RUNS. Differences in what is timed:
# llama-bench's tg starts from an empty context, EPIC's decode after a 16-token prompt; EPIC's prefill
# feeds random non-control tokens, llama-bench random ids. Run nothing else heavy meanwhile.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 1 ] || { sed -n '2,17p' "$0"; exit 2; }
threads="${THREADS:-2}"
prompt="${PROMPT:-512}"
gen="${GEN:-64}"
runs="${RUNS:-3}"
epic="${EPIC:-build/runtime/epic}"
skip_epic="${SKIP_EPIC:-0}"
skip_llama="${SKIP_LLAMACPP:-0}"

die() { echo "cpu-vs-llamacpp: $*" >&2; exit 1; }
bench=""
if [ "$skip_llama" != 1 ]; then
    [ -n "${LLAMACPP_DIR:-}" ] || die "set LLAMACPP_DIR to a llama.cpp build folder (or SKIP_LLAMACPP=1)"
    for b in "$LLAMACPP_DIR/bin/llama-bench" "$LLAMACPP_DIR/llama-bench"; do
        [ -x "$b" ] && { bench="$b"; break; }
    done
    [ -n "$bench" ] || die "no llama-bench in $LLAMACPP_DIR or $LLAMACPP_DIR/bin"
fi
[ "$skip_epic" = 1 ] || [ -x "$epic" ] || die "$epic not found (installer/build.sh, or set EPIC)"
for m in "$@"; do [ -f "$m" ] || die "$m: no such model file"; done

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# llama-bench -o jsonl: one JSON object per test; print "<avg_ts> <build_commit>" of the one with
# n_prompt=$2 and n_gen=$3.
pick() {
    python3 -c '
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    d = json.loads(line)
    if d["n_prompt"] == int(sys.argv[2]) and d["n_gen"] == int(sys.argv[3]):
        print("%.2f %s" % (d["avg_ts"], d.get("build_commit", "?")))
' "$@"
}
# `epic bench ...` prints "... <N> tok/s ..."
tok_s() { sed -n 's/.* \([0-9.]*\) tok\/s .*/\1/p' | head -1; }
ratio() { if [ "$1" = - ] || [ "$2" = - ]; then echo -; else awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; fi; }

rows=()
commit="-"
for m in "$@"; do
    name="$(basename "$m" .gguf)"
    lp=- lt=- ep=- et=-
    if [ "$skip_llama" != 1 ]; then
        echo "== llama-bench $name" >&2
        "$bench" -m "$m" -t "$threads" -p "$prompt" -n "$gen" -r "$runs" -o jsonl >"$log" 2>/dev/null ||
            die "llama-bench failed on $m"
        read -r lp commit < <(pick "$log" "$prompt" 0) || die "no pp$prompt result from llama-bench on $m"
        read -r lt commit < <(pick "$log" 0 "$gen") || die "no tg$gen result from llama-bench on $m"
    fi
    if [ "$skip_epic" != 1 ]; then
        echo "== epic bench $name" >&2
        out="$("$epic" bench prefill --model "$m" --tokens "$prompt" --threads "$threads" --runs "$runs")"
        echo "$out" >&2
        ep="$(tok_s <<<"$out")"
        out="$("$epic" bench decode --model "$m" --tokens "$gen" --threads "$threads" --runs "$runs")"
        echo "$out" >&2
        et="$(tok_s <<<"$out")"
        [ -n "$ep" ] && [ -n "$et" ] || die "no tok/s in epic's output for $m"
    fi
    rows+=("| $name | prefill pp$prompt | $lp | $ep | $(ratio "$ep" "$lp") |")
    rows+=("| $name | decode tg$gen | $lt | $et | $(ratio "$et" "$lt") |")
done

{
    echo
    echo "CPU, $threads threads, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //'); llama.cpp $commit; runs $runs"
    echo
    echo "| model | test | llama.cpp tok/s | epic tok/s | epic / llama.cpp |"
    echo "|---|---|---:|---:|---:|"
    printf '%s\n' "${rows[@]}"
} | tee ${OUT:+"$OUT"}
