#!/usr/bin/env bash
# Starts epic-desktop under Xvfb on a fresh sample library, adds a few documents, asks a question and
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

docs="$work/docs"
mkdir -p "$docs/notes"
cat > "$docs/lily.txt" <<'T'
Lily was a little girl who loved to play in the park. One day she found a shiny red ball under a big tree.
She wanted to share the ball with her friend Tom, so she ran to his house and knocked on the door.

Tom was happy to see Lily. They played with the red ball all afternoon until the sun went down.
T
cat > "$docs/notes/garden.md" <<'T'
# The garden

The garden behind the house has **tomatoes**, beans and a small apple tree.
Every morning Ben waters the tomatoes and checks the beans for snails.

## Rules
- Close the gate so the dog stays out.
- Pick the apples only when they are red.
T
cat > "$docs/notes/boat.md" <<'T'
# The boat

Sam had a little blue boat. He sailed it on the pond every Sunday with his dad.
One day the wind was strong and the boat went far away, but a friendly duck pushed it back.
T
cat > "$docs/bakery.txt" <<'T'
The bakery on the corner opens at seven. Anna bakes bread, cakes and cookies.
Children like the chocolate cookies best, and the old man from the next street buys a loaf every day.
T

cat > "$work/settings.ini" <<T
[library]
folder=$work/library
chunkTokens=96
[model]
path=$model
device=cpu
[retrieval]
chunks=3
[sampling]
maxTokens=80
temperature=0
T

echo "model: $model"
xvfb-run -a -s "-screen 0 1280x800x24" "$app" --settings "$work/settings.ini" \
  --add "$docs" --ask "What does Ben do in the garden?" --ask "What did Lily find under the tree?" --screenshots "$out"
ls -l "$out"/*.png
