#!/usr/bin/env bash
# Sets up the machine, builds EPIC and runs its main job on the bundled default: the sample library
# (resources/sample-library) is added to a library folder (compiled into KV caches once), then a
# question is answered from it with LegoLink linking. The model: $EPIC_MODEL (a GGUF file), else
# $default_model below fetched by installer/get-models.sh (that one only; `get-models.sh --help` lists
# the others), else stories260K from ../shared/models, else a random-weight model the project makes
# itself (everything runs; its answers are gibberish).
set -euo pipefail
# A get-models.sh name: the model that answers best (Qwen2.5-Coder-1.5B-Instruct; the whole command
# took 2.1 minutes on 2 cores from a fresh clone once the packages were installed); EPIC_DEFAULT_MODEL=qwen2.5-coder-0.5b
# or smollm2 picks a smaller, faster one.
default_model="${EPIC_DEFAULT_MODEL:-qwen2.5-coder-1.5b}"
cd "$(dirname "$0")/.."
bash installer/install-deps.sh
# The command line program is all this job needs: the app and the tests build with setup-and-test.sh
# (or installer/build.sh), which keeps the first run well inside ten minutes on two cores.
EPIC_BUILD_TARGETS="${EPIC_BUILD_TARGETS:-epic}" bash installer/build.sh
epic=./build/runtime/epic
model="${EPIC_MODEL:-}"
if [ -z "$model" ] && [ -f installer/get-models.sh ]; then
  # The file name comes from get-models.sh's own table, so it is written down once.
  file=$(bash installer/get-models.sh --list | awk -v n="$default_model" '$1 == n { print $2 }')
  if [ -z "$file" ]; then
    echo "setup-and-run: '$default_model' is not a get-models.sh name (see installer/get-models.sh --list); trying the fallbacks"
  elif bash installer/get-models.sh "$default_model"; then
    model="${EPIC_MODELS_DIR:-models}/$file"
  else
    echo "setup-and-run: could not fetch $default_model; trying the fallbacks"
  fi
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
# The embedding model: questions find passages by meaning as well as by words (hybrid retrieval).
embedder=()
if [ -f installer/get-models.sh ] && bash installer/get-models.sh minilm; then
  embedder=(--embedder "${EPIC_MODELS_DIR:-models}/all-minilm-l6-v2")
else
  echo "setup-and-run: no embedding model; questions search by words only"
fi
library="${EPIC_LIBRARY:-demo-library}"
echo "== model: $model"
"$epic" info --model "$model" | sed -n '1,4p'
echo "== adding the sample library to $library"
"$epic" add --library "$library" --model "$model" "${embedder[@]}" --chunk-tokens 256 resources/sample-library
question="${EPIC_QUESTION:-What is the telephone extension of Ingrid Solberg?}"
echo "== asking: $question"
"$epic" ask --library "$library" --model "$model" "${embedder[@]}" --tokens 48 "$question"
