#!/usr/bin/env bash
# The app's own job on the bundled sample library, scored: the library is added (chunks of 256
# tokens, as installer/setup-and-run.sh does), then every STEP-th question of
# resources/sample-library/facts.json is asked with `epic ask` (retrieval, the default link
# algorithm, greedy) and counted right when the answer text contains the expected value.
#   tests/bench/sample-library-qa.sh MODEL.gguf [STEP]      (env: ALGO, THREADS, OUT)
set -euo pipefail
cd "$(dirname "$0")/../.."
model="$1"
step="${2:-3}"
threads="${THREADS:-2}"
epic=./build/runtime/epic
out="${OUT:-build/sample-qa}/$(basename "$model" .gguf)"
rm -rf "$out"
mkdir -p "$out"
start=$(date +%s.%N)
"$epic" add --library "$out/library" --model "$model" --chunk-tokens 256 --threads "$threads" resources/sample-library \
    >"$out/add.log" 2>&1
added=$(date +%s.%N)
algo_args=()
[ -n "${ALGO:-}" ] && algo_args=(--algo "$ALGO")
python3 - "$epic" "$model" "$out" "$step" "$threads" "${algo_args[@]}" <<'PY'
import json, re, subprocess, sys, time
epic, model, out, step, threads = sys.argv[1:6]
extra = sys.argv[6:]
facts = json.load(open("resources/sample-library/facts.json"))[::int(step)]
def norm(s):
    return " " + re.sub(r"[^0-9a-z\u0080-\uffff]+", " ", s.lower()).strip() + " "
right = 0
t0 = time.time()
with open(f"{out}/answers.txt", "w") as log:
    for f in facts:
        r = subprocess.run([epic, "ask", "--library", f"{out}/library", "--model", model, "--tokens", "32",
                            "--threads", threads, "--no-sources", *extra, f["question"]],
                           capture_output=True, text=True)
        answer = r.stdout.strip()
        ok = norm(f["answer"]) in norm(answer)
        right += ok
        log.write(f"{'ok ' if ok else 'BAD'} {f['question']} -> {answer!r} (want {f['answer']})\n")
print(f"{model}: {right}/{len(facts)} sample-library questions right ({100.0 * right / len(facts):.1f}%), "
      f"{(time.time() - t0) / len(facts):.1f} s per question (process start, retrieval, link, answer)")
PY
echo "add: $(python3 -c "print(round($added - $start, 1))") s for the sample library"
