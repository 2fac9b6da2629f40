#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz: GGUF reader, KV blob decoder, HTML and Markdown
# extractors) with clang in build-fuzz and runs each for RUNS executions (default 1,000,000), from
# seeds made by epic-fuzz-seeds plus the corpus earlier runs grew; prints executions, corpus units
# and findings per fuzzer. Each fuzzer runs in libFuzzer's fork mode and goes on after a finding, so
# one run reports every distinct crash, not only the first. Exit status 1 when any fuzzer found
# something.
#
#   bash tests/bench/fuzz.sh [RUNS]
#
# Settings (environment): FUZZ_SECONDS (run each fuzzer this long instead of RUNS executions; CI
# uses a few seconds), FUZZERS ("gguf blob html markdown"), FUZZ_BUILD (build-fuzz), EPIC_JOBS
# (build jobs, default nproc), FUZZ_FORK=0 (in-process: stop at the first finding), FUZZ_FLAGS (more
# libFuzzer flags). Findings (crash-*, leak-*,
# timeout-*, oom-*) are written under $FUZZ_BUILD/fuzz/findings/<fuzzer>/; reproduce one with
#   $FUZZ_BUILD/tests/fuzz/fuzz_<fuzzer> <file>
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-1000000}"
build="${FUZZ_BUILD:-build-fuzz}"
fuzzers="${FUZZERS:-gguf blob html markdown}"
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (libFuzzer needs clang)" >&2; exit 2; }

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEPIC_FUZZ=ON \
  -DEPIC_TESTS=OFF -DEPIC_CUDA=OFF -DEPIC_GUI=OFF >/dev/null
cmake --build "$build" -j"${EPIC_JOBS:-$(nproc)}" --target epic_fuzz_all >/dev/null

work="$build/fuzz"
rm -rf "$work/seeds"
"$build/tests/fuzz/epic-fuzz-seeds" "$work/seeds"
limit=(-runs="$runs")
[ -n "${FUZZ_SECONDS:-}" ] && limit=(-max_total_time="$FUZZ_SECONDS")
mode=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
[ "${FUZZ_FORK:-1}" = 0 ] && mode=()

found=0
summary=()
for f in $fuzzers; do
  corpus="$work/corpus/$f" findings="$work/findings/$f" log="$work/$f.log"
  mkdir -p "$corpus" "$findings"
  before=$(find "$findings" -type f | wc -l)
  # The first folder receives new units; the seeds folder is read only. Leaks are not findings here
  # (libFuzzer's leak check doubles the cost of every unit that allocates).
  set +e
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" "$build/tests/fuzz/fuzz_$f" "${limit[@]}" "${mode[@]}" \
    -print_final_stats=1 -artifact_prefix="$findings/" ${FUZZ_FLAGS:-} "$corpus" "$work/seeds/$f" >"$log" 2>&1
  rc=$?
  set -e
  # In-process runs print stat::number_of_executed_units; fork mode its progress lines "#N: cov: ...".
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\):* .*/\1/p' "$log" | tail -1)
  units=$(find "$corpus" -type f | wc -l)
  new=$(( $(find "$findings" -type f | wc -l) - before ))
  line="fuzz_$f: ${execs:-?} executions, corpus $units units, exit $rc, findings $new"
  if [ "$rc" -ne 0 ] || [ "$new" -gt 0 ]; then
    found=1
    line="$line  <-- see $log"
    grep -E "^==[0-9]+==ERROR|SUMMARY:|^    #[0-9]+ " "$log" | head -12 || true
    find "$findings" -type f -newer "$work/seeds" | sed 's/^/  finding: /'
  fi
  echo "$line"
  summary+=("$line")
done
if [ -n "${FUZZ_SECONDS:-}" ]; then echo "--- fuzz summary ($FUZZ_SECONDS s each)"; else echo "--- fuzz summary ($runs runs each)"; fi
printf '%s\n' "${summary[@]}"
exit "$found"
