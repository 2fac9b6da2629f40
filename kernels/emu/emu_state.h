#pragma once
// What the emulator's parts share: the memory map (which ranges are "device" memory), stream
// handles and the diagnostics of the last failure. Internal to kernels/emu.
#include "cuda_runtime_api.h"

#include <cstddef>
#include <string>

namespace epic::cuda_emu {

enum class memory_kind { none, device, pinned_host };

// The kind of the allocation holding [p, p + bytes), or none when the range is not inside one
// allocation (a host pointer, a range running past the end of its buffer).
memory_kind memory_kind_of(const void* p, size_t bytes);
bool stream_is_valid(cudaStream_t s);

// Records a failure's explanation (printed to stderr and kept for last_diagnostic()) and sets the
// calling thread's last error; returns `e`.
cudaError_t fail(cudaError_t e, const std::string& why);
void set_last_error(cudaError_t e);

// The dynamic shared memory a kernel may use without / with its opt-in attribute.
size_t max_dynamic_smem(const void* kernel);

} // namespace epic::cuda_emu
