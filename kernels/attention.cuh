#pragma once
// Attention of arbitrary query rows over an f16 KV sequence (the link step's rows R, a prefill, or
// one decode row), exact causal rule, grouped-query heads. See attention.cu for the tiling.
#include "kernel_status.cuh"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace epic {

struct attention_kernel_params {
    int n_head = 0;
    int n_head_kv = 0;
    int head_dim = 0;   // even, <= 256
    float scale = 1.0f;
    int kv_first = 0;   // keys of rows < kv_first are invisible
    int window = 0;     // sliding window (0: unlimited)
};

// Whether the kernel handles this head size (even, 2..256).
bool attention_head_dim_supported(int head_dim);

// How many key ranges to split the work into (flash-decoding): more than 1 only when the
// (row tiles x heads) grid alone would leave most of the `sm_count` multiprocessors idle, as in decode.
int attention_splits(int n, int n_kv, const attention_kernel_params& p, int sm_count);

// Bytes of device workspace launch_attention needs for n_splits > 1 (0 for 1).
size_t attention_workspace_bytes(int n, const attention_kernel_params& p, int n_splits);

// out[n, n_head, head_dim] f32: query row i (q [n, n_head, head_dim] f32, at position pos[i]) attends
// over keys/values of rows max(kv_first, pos[i]-window+1)..pos[i] of k, v ([n_kv, n_head_kv, head_dim]
// f16). pos: [n] device memory; a position outside [kv_first, n_kv) records
// kernel_position_out_of_range in *status and yields a zero row. workspace: attention_workspace_bytes.
cudaError_t launch_attention(const float* q, const int32_t* pos, int n, const uint16_t* k, const uint16_t* v, int n_kv,
                             float* out, const attention_kernel_params& p, int n_splits, void* workspace,
                             kernel_status* status, cudaStream_t stream);

} // namespace epic
