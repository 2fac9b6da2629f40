#pragma once
// EPIC's CUDA emulator: runs the project's CUDA kernels and the CUDA backend's host code on the CPU,
// so that their logic is executed and tested where there is no GPU (CI, most developer machines).
//
// How: the .cu files are compiled as C++ against the headers in kernels/emu/include, which stand in
// for cuda_runtime.h, cuda_fp16.h and cublas_v2.h. A launch runs every block of the grid; a block's
// threads are fibers of one OS thread (own stacks, switched in user space), so __syncthreads and warp
// shuffles are real rendezvous points: a thread runs until it reaches one, and the scheduler moves
// on. Odd blocks run their threads in reverse order, which exposes most missing barriers.
//
// What it checks that a GPU would not tell you clearly: kernel pointer arguments outside device
// memory; copies and memsets running past an allocation or in the wrong direction; block and grid
// limits; dynamic shared memory above 48 KiB without the opt-in attribute; a warp shuffle whose mask
// names an exited or missing lane; deadlock (threads at __syncthreads while others of their warp wait
// in a shuffle). Device memory is filled with 0xff (NaN) when allocated, as is shared memory per block,
// so reading what was never written shows up in results. A device memory capacity is emulated
// (EPIC_CUDA_EMU_MEMORY_MIB, default 8192) so out-of-memory paths run too; EPIC_CUDA_EMU_DEVICES=0
// makes the emulated machine have no GPU.
//
// What it cannot show: performance, memory coalescing, races inside a warp or between blocks, the
// exact results of nvcc's fast-math code (here __expf is expf), cuBLAS's own kernels (GemmEx is a
// plain f32-accumulating loop), and anything about a real driver. Execution is synchronous: streams
// and events keep their API but every call completes before it returns.
#include "cuda_runtime_api.h"

#include <string>

namespace epic::cuda_emu {

// The explanation of the emulator's last detected failure ("" when none).
std::string last_diagnostic();

} // namespace epic::cuda_emu
