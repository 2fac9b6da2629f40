#!/usr/bin/env bash
# The CUDA figures of the CUDA-backend issue in one run, for a machine with a GPU (none has been lent
# to this project's sessions so far): prefill and decode tokens/s and the matmul GFLOP/s behind them,
# and time to first token for full / CacheBlend-0.15 / LegoLink-16 / Naive at 2K, 8K and 32K tokens of
# context in 512-token chunks, with the caches staged from host memory and resident in the GPU hot tier
# (`--resident`), for random-weight f16 models of TinyLlama-1.1B and Llama-2-7B shape.
#
#   bash tests/bench/gpu-figures.sh            # after installer/build.sh; writes gpu-figures/*.txt
#   SHAPES=tiny CONTEXTS=256 CHUNK_TOKENS=64 RUNS=1 EPIC=build-emu/runtime/epic bash tests/bench/gpu-figures.sh
#       (the same steps on the CPU emulator, in seconds: checks the script, measures nothing)
# Fraction of peak: divide the prefill GFLOP/s by the GPU's dense f16 tensor peak (H100 SXM ~989 TFLOP/s).
set -euo pipefail
cd "$(dirname "$0")/../.."
epic="${EPIC:-build/runtime/epic}"
out="${OUT_DIR:-gpu-figures}"
shapes="${SHAPES:-tinyllama llama2-7b}"
contexts="${CONTEXTS:-2048 8192 32768}"
chunk_tokens="${CHUNK_TOKENS:-512}"
runs="${RUNS:-3}"
algos="${ALGOS:-full,cacheblend-0.15,legolink-16,naive}"
export EPIC_DEVICE="${EPIC_DEVICE:-cuda}"
mkdir -p "$out"
command -v nvidia-smi >/dev/null && nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || true
for shape in $shapes; do
    model="$out/$shape-f16.gguf"
    [ -f "$model" ] || "$epic" make-model --shape "$shape" --type f16 --out "$model"
    for n in 512 2048; do
        "$epic" bench prefill --model "$model" --tokens "$n" --runs "$runs" | tee -a "$out/prefill.txt"
    done
    "$epic" bench decode --model "$model" --tokens 128 --runs "$runs" | tee -a "$out/decode.txt"
    for ctx in $contexts; do
        chunks=$((ctx / chunk_tokens))
        for mode in host resident; do
            extra=()
            [ "$mode" = resident ] && extra=(--resident)
            echo "== $shape, $chunks x $chunk_tokens tokens, caches $mode" | tee "$out/link-$shape-$ctx-$mode.txt"
            "$epic" bench link --model "$model" --chunks "$chunks" --chunk-tokens "$chunk_tokens" --question-tokens 32 \
                --algos "$algos" --runs "$runs" "${extra[@]}" | tee -a "$out/link-$shape-$ctx-$mode.txt"
        done
    done
done
echo "gpu-figures: results in $out/"
