#!/usr/bin/env bash
# Sets up the machine, builds EPIC and runs its main job on the bundled default: the sample library
# (resources/sample-library) is added to a library folder (compiled into KV caches once), then a
# question is answered from it with LegoLink linking. The model: $EPIC_MODEL, else the default model
# fetched by installer/get-models.sh (SmolLM2-135M-Instruct), else stories260K from ../shared/models,
# else a random-weight model the project makes itself (everything runs; its answers are gibberish).
set -euo pipefail
cd "$(dirname "$0")/.."
bash installer/install-deps.sh
bash installer/build.sh
epic=./build/runtime/epic
model="${EPIC_MODEL:-}"
if [ -z "$model" ] && [ -f installer/get-models.sh ]; then
  bash installer/get-models.sh || echo "setup-and-run: could not fetch the default model; trying the fallbacks"
  [ -f models/smollm2-135m-instruct-q4_1.gguf ] && model=models/smollm2-135m-instruct-q4_1.gguf
fi
if [ -z "$model" ]; then
  shared="${EPIC_SHARED_MODELS:-../shared/models}/stories260K/stories260K.gguf"
  if [ -f "$shared" ]; then
    model="$shared"
  else
    mkdir -p models
    model=models/random-tiny.gguf
    [ -f "$model" ] || "$epic" make-model --shape tiny --out "$model"
  fi
fi
library="${EPIC_LIBRARY:-demo-library}"
echo "== model: $model"
"$epic" info --model "$model" | sed -n '1,4p'
echo "== adding the sample library to $library"
"$epic" add --library "$library" --model "$model" --chunk-tokens 256 resources/sample-library
question="${EPIC_QUESTION:-What is the telephone extension of Ingrid Solberg?}"
echo "== asking: $question"
"$epic" ask --library "$library" --model "$model" --tokens 48 "$question"
