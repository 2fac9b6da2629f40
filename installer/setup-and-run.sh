#!/usr/bin/env bash
# Sets up the machine, builds EPIC and runs its main job on the bundled default. For now that is
# generation with the stories260K model when ../shared/models has it, else with a random-weight
# model the project makes itself (its text is gibberish, but every part of the engine runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash installer/install-deps.sh
bash installer/build.sh
model="${EPIC_MODEL:-}"
if [ -z "$model" ]; then
  shared="${EPIC_SHARED_MODELS:-../shared/models}/stories260K/stories260K.gguf"
  if [ -f "$shared" ]; then
    model="$shared"
  else
    mkdir -p models
    model=models/random-tiny.gguf
    [ -f "$model" ] || ./build/runtime/epic make-model --shape tiny --out "$model"
  fi
fi
./build/runtime/epic info --model "$model"
./build/runtime/epic generate --model "$model" --prompt "${EPIC_PROMPT:-Once upon a time}" --tokens 96 --temp 0 --ctx 512
