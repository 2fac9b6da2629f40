#!/usr/bin/env bash
# CPU throughput of EPIC against llama.cpp on the same GGUF files, as one Markdown table: prefill of
# 512 and 4,096 tokens and decode of 128, tokens/s of both engines and the ratio epic / llama.cpp.
#
#   LLAMACPP_SRC=/path/to/llama.cpp bash tests/bench/vs-llama-cpp.sh [model.gguf ...]
#
# Downloads nothing. llama.cpp is built from the source tree LLAMACPP_SRC (a public snapshot of
# ggerganov/llama.cpp) into LLAMACPP_BUILD (default build-llamacpp/, kept between runs) with its
# native settings (GGML_NATIVE: AVX-512, VNNI, AMX where the CPU has them). The models: TinyLlama-shape
# random-weight files in F16, Q8_0, Q4_K and Q4_0 made by `epic make-model` (in WORK, default
# build-vs-llama-cpp/), then the real SmolLM2-135M Q4_1, Gemma 3 270M and Qwen2.5-Coder 0.5B / 1.5B
# (Q4_K_M) files of models/ when present; model files given as arguments replace that list.
#
# The two engines' runs alternate (one run of each in turn, RUNS times; the medians are shown), so
# the drift of a shared machine hits both. Absolute figures on such machines vary by 3x from hour to
# hour: only ratios from one run mean anything. Run nothing else heavy meanwhile.
# Settings (environment): THREADS (2), RUNS (3), PROMPTS ("512 4096"), GEN (128), EPIC
# (build/runtime/epic), OUT (also write the table to this file). What is timed differs a little:
# llama-bench's tg starts from an empty context, EPIC's decode after a 16-token prompt; EPIC's prefill
# feeds random non-control tokens, llama-bench random ids. A model llama.cpp cannot load (an
# architecture newer than the snapshot) shows "-" in its column.
set -euo pipefail
cd "$(dirname "$0")/../.."
threads="${THREADS:-2}"
runs="${RUNS:-3}"
prompts="${PROMPTS:-512 4096}"
gen="${GEN:-128}"
epic="${EPIC:-build/runtime/epic}"
work="${WORK:-build-vs-llama-cpp}"
src="${LLAMACPP_SRC:-}"
build="${LLAMACPP_BUILD:-build-llamacpp}"

die() { echo "vs-llama-cpp: $*" >&2; exit 1; }
[ -x "$epic" ] || die "$epic not found (installer/build.sh, or set EPIC)"

bench="$build/bin/llama-bench"
if [ ! -x "$bench" ]; then
    [ -n "$src" ] && [ -f "$src/CMakeLists.txt" ] || die "set LLAMACPP_SRC to a llama.cpp source tree (none built in $build yet)"
    echo "== building llama-bench from $src into $build" >&2
    cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
        -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF >&2
    cmake --build "$build" -j"$(nproc)" --target llama-bench >&2
fi
[ -x "$bench" ] || die "no llama-bench in $build/bin after building"

models=("$@")
if [ ${#models[@]} -eq 0 ]; then
    mkdir -p "$work"
    for t in f16 q8_0 q4_K q4_0; do
        f="$work/tinyllama-$t.gguf"
        [ -f "$f" ] || "$epic" make-model --out "$f" --shape tinyllama --type "$t" --seed 1 >&2
        models+=("$f")
    done
    for f in models/smollm2-135m-instruct-q4_1.gguf models/gemma3-270m-q4_k_m.gguf \
             models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf; do
        [ -f "$f" ] && models+=("$f")
    done
fi
for m in "${models[@]}"; do [ -f "$m" ] || die "$m: no such model file"; done

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# One llama-bench run of pp$2 (n_gen 0) or tg$3 (n_prompt 0): its tokens/s, or "-" when it fails.
llama_run() {
    "$bench" -m "$1" -t "$threads" -p "$2" -n "$3" -r 1 -o jsonl >"$log" 2>/dev/null || { echo -; return; }
    python3 -c '
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("{"):
        d = json.loads(line)
        if d["n_prompt"] == int(sys.argv[2]) and d["n_gen"] == int(sys.argv[3]):
            print("%.2f" % d["avg_ts"]); break
else:
    print("-")
' "$log" "$2" "$3"
}
llama_commit() {
    "$bench" -m "$1" -t "$threads" -p 8 -n 0 -r 1 -o jsonl 2>/dev/null |
        python3 -c 'import json,sys; print(next((json.loads(l).get("build_commit","?") for l in sys.stdin if l.startswith("{")), "?"))'
}
# One `epic bench prefill|decode` run: its tokens/s ("... <N> tok/s ..."), or "-" when it fails.
epic_run() {
    "$epic" bench "$1" --model "$2" --tokens "$3" --threads "$threads" --runs 1 2>/dev/null |
        sed -n 's/.* \([0-9.]*\) tok\/s .*/\1/p' | head -1 | grep . || echo -
}
median() { tr ' ' '\n' | grep -v '^-*$' | sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "-"; else print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
ratio() { if [ "$1" = - ] || [ "$2" = - ]; then echo -; else awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; fi; }

commit="?"
rows=()
for m in "${models[@]}"; do
    name="$(basename "$m" .gguf)"
    [ "$commit" = "?" ] && commit="$(llama_commit "$m" || echo '?')"
    tests=()
    for p in $prompts; do tests+=("prefill $p"); done
    tests+=("decode $gen")
    for t in "${tests[@]}"; do
        read -r kind n <<<"$t"
        ll="" ee=""
        for r in $(seq "$runs"); do
            if [ "$kind" = prefill ]; then l="$(llama_run "$m" "$n" 0)"; else l="$(llama_run "$m" 0 "$n")"; fi
            e="$(epic_run "$kind" "$m" "$n")"
            echo "== $name $kind $n run $r: llama.cpp $l, epic $e tok/s" >&2
            ll="$ll $l" ee="$ee $e"
        done
        lm="$(median <<<"$ll")" em="$(median <<<"$ee")"
        label="pp$n"; [ "$kind" = decode ] && label="tg$n"
        rows+=("| $name | $label | $lm | $em | $(ratio "$em" "$lm") |")
    done
done

{
    echo
    echo "CPU, $threads threads, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //'); llama.cpp $commit (GGML_NATIVE); medians of $runs alternating runs"
    echo
    echo "| model | test | llama.cpp tok/s | epic tok/s | epic / llama.cpp |"
    echo "|---|---|---:|---:|---:|"
    printf '%s\n' "${rows[@]}"
} | tee ${OUT:+"$OUT"}
