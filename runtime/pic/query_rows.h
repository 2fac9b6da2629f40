#pragma once
// Query-aware recompute: the cached chunk rows the question attends to most join the recompute set.
// The question rows are computed first through the early layers (with the base recompute set), their
// attention over every key at one layer scores the keys, and the best-scoring groups of chunk rows
// are recomputed from layer 0 together with the base set.
#include "forward/transformer.h"
#include "pic/link_policy.h"
#include "pic/linker.h"

#include <cstdint>
#include <span>
#include <vector>

namespace epic {

// The rows whose attention scores the keys, as indices into `rows` (the base recompute set, global
// rows ascending): those of the question segment, or the last row when none of them is in the set.
std::vector<int32_t> question_row_indices(const link_layout& layout, std::span<const int32_t> rows);

// [N] how much attention the question rows give each key at layer il: the softmax probabilities of
// every question row and query head, summed. `s` holds the rows after tf.qkv(il) (RoPE'd q), and kv
// holds layer il's keys of rows 0..N-1 (cached rows rotated, the rows of s stored). `question_rows`
// are indices into s's rows. Computed on the host in double.
std::vector<double> question_attention(transformer& tf, int il, forward_state& s, kv_cache& kv, int n_rows,
                                       std::span<const int32_t> question_rows);

// The recompute set `base` (sorted global rows) plus the chunk rows chosen by `scores` ([N]): chunk
// segments are cut into groups of link_policy::query_group rows from their first row; groups are
// taken by the summed score of their rows not yet in the set, best first, until
// round(policy.query x cached chunk rows) rows are added (a group may be taken in part to stop
// exactly at the budget). Sorted. With policy.query_prefix the budget extends whole chunk prefixes
// instead: chunks by their summed score, best first, each recomputed from its first row on until the
// budget or the chunk ends.
std::vector<int32_t> add_query_rows(const link_layout& layout, std::span<const int32_t> base, std::span<const double> scores,
                                    const link_policy& policy);

} // namespace epic
