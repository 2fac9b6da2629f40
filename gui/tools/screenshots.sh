#!/usr/bin/env bash
# Starts epic-desktop under Xvfb on a fresh library, adds the bundled sample library, asks two questions and
# saves PNG screenshots of the chat (with its answer) and of the cache panel.
#   gui/tools/screenshots.sh [MODEL.gguf] [OUT_DIR]
# MODEL defaults to ../shared/models/stories260K/stories260K.gguf beside the project, else a random
# model made with `epic make-model`. OUT_DIR defaults to ./screenshots. BUILD_DIR picks the build
# (default build-gui, then build).
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
build="${BUILD_DIR:-}"
if [[ -z "$build" ]]; then
  for b in "$here/build-gui" "$here/build"; do [[ -x "$b/gui/epic-desktop" ]] && build="$b" && break; done
fi
app="$build/gui/epic-desktop"
[[ -x "$app" ]] || { echo "epic-desktop not built (set BUILD_DIR)"; exit 1; }
out="$(realpath -m "${2:-screenshots}")"
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

model="${1:-}"
if [[ -z "$model" ]]; then
  model="$here/../shared/models/stories260K/stories260K.gguf"
  if [[ ! -f "$model" ]]; then
    model="$work/random.gguf"
    "$build/runtime/epic" make-model --out "$model"
  fi
fi

# The bundled sample library (Tidewater Instruments fact sheets: txt, md, html and a pdf).
docs="$here/resources/sample-library"
cat > "$work/settings.ini" <<T
[library]
folder=$work/library
chunkTokens=256
[model]
path=$model
device=cpu
[retrieval]
chunks=4
[sampling]
maxTokens=80
temperature=0
T

echo "model: $model"
xvfb-run -a -s "-screen 0 1280x800x24" "$app" --settings "$work/settings.ini" \
  --add "$docs" --ask "What is the telephone extension of Ingrid Solberg?" --ask "Who is the lead engineer of the Kelp Sounder?" \
  --screenshots "$out"
ls -l "$out"/*.png
