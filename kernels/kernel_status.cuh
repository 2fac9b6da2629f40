#pragma once
// A small status word the kernels write when they meet bad input they cannot reject on the host
// (token ids and positions live in device memory). The backend reads it back whenever it
// synchronizes anyway and turns it into an epic::error; the first error wins.
// Plain C++ on purpose: the host side includes it.
#include <cstdint>

namespace epic {

enum kernel_status_code : int32_t {
    kernel_ok = 0,
    kernel_token_out_of_range = 1,    // get_rows: id outside [0, rows)
    kernel_position_out_of_range = 2, // attention: pos outside [kv_first, n_kv)
};

struct kernel_status {
    int32_t code;  // kernel_status_code; 0 while nothing went wrong
    int32_t value; // the offending id / position
    int32_t limit; // the bound it broke (vocabulary size, n_kv)
    int32_t lower; // lower bound (kv_first), 0 when there is none
};

#if defined(__CUDACC__) || defined(EPIC_CUDA_EMU)
} // namespace epic
#include <cuda_runtime.h>
namespace epic {
// Records the first error only: later ones would overwrite a more useful message.
__device__ inline void report_status(kernel_status* st, int32_t code, int32_t value, int32_t lower, int32_t limit) {
    if (atomicCAS(&st->code, 0, code) == 0) {
        st->value = value;
        st->lower = lower;
        st->limit = limit;
    }
}
#endif

} // namespace epic
