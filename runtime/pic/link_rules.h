#pragma once
// What each link algorithm does, in one place (DESIGN.md, "Compile and link": the table there is
// what these functions implement). The linker (pic/linker.cpp) lays out, places and computes; every
// choice that differs between algorithms is asked of these rules. Plain CPU code on layouts and host
// arrays, so each rule can be tested on its own.
//
//   algorithm      compiled with         lands in a link        layer-0 recompute set      later layers
//   full           1 BOS                 every cached row       every row                  the same rows
//   naive          1 BOS                 every cached row       uncached rows              the same rows
//   legolink-k     1 BOS                 every cached row       + first min(k, L) rows     the same rows
//                                                               of every chunk
//   legolink-0     4 BOS (sinks)         the chunk's tokens     uncached rows              the same rows
//   cacheblend-r   1 BOS                 every cached row       every row                  from layer 1: the chunk rows
//                                                                                          whose V moved most (r of them),
//                                                                                          + uncached rows
// "Uncached" rows are the question's (and a system segment computed fresh); the last row is always
// recomputed (the logits come from it). Modifiers: +hdr compiles with no sink (a header line opens
// the chunk); +tail-J and +last-N add rows to LegoLink's and naive's layer-0 set; +q-F / +qc-F add
// the rows the question attends to (LegoLink, naive; pic/query_rows.h); +ape-T sets the attention
// temperature over the chunks; +ctx and +kv-FMT change how the caches were made, not the rows.
#include "backend/backend.h"
#include "pic/chunk_cache.h"
#include "pic/link_layout.h"
#include "pic/link_policy.h"

#include <cstdint>
#include <span>
#include <vector>

namespace epic {

// --- compiling: link_policy::sink_tokens() and chunk_compile_options() (defined in link_rules.cpp) --

// --- laying out -------------------------------------------------------------------------------------

// The first row of a chunk's cache that lands in a link: LegoLink-0 drops the cache's sink rows (its
// chunks were compiled after 4 BOS so that their own tokens' keys are ordinary keys, and the sinks'
// KV is not linked); every other algorithm links every row of the cache.
int first_linked_row(const link_policy& policy, const chunk_cache& cache);

// Whether the link uses cached rows at all: a full recompute computes every row afresh, so nothing
// cached is placed.
bool uses_cached_rows(const link_policy& policy);

// +ape-T[:S]: how rows after the chunks attend to them. The chunks span from the first chunk
// segment's first row to the last chunk segment's end; default (plain attention) without +ape.
context_attention ape_context(const link_layout& layout, const link_policy& policy);

// --- the rows recomputed ----------------------------------------------------------------------------

// The recompute set of a policy for a layout at layer 0 (global rows, sorted), always containing the
// last row and every row that has no cache: full and CacheBlend every row; naive the uncached rows;
// LegoLink-k also the first min(k, L) rows of every chunk. +last-N (LegoLink, naive): every row of
// the N chunk segments nearest the question; +tail-J (LegoLink, naive): the last J rows of every
// cached chunk; link_input::recompute_whole: every row of those chunks.
std::vector<int32_t> recompute_rows(const link_layout& layout, const link_policy& policy);

// Whether the query-aware rows (+q-F, +qc-F) join the recompute set: for LegoLink and naive, whose
// set is fixed by the layout alone. CacheBlend chooses its rows itself and full takes every row, so
// the modifier means nothing to them.
bool adds_query_rows(const link_policy& policy);

// The layer at which the recompute set is chosen anew, before that layer's K and V are stored:
// CacheBlend's layer 1 (cacheblend_rows), once layer 0 gave every row fresh values. -1 for the other
// algorithms, whose rows stay the same through every layer.
int row_selection_layer(const link_policy& policy);

// CacheBlend-r's choice: of the rows computed so far (`rows`, global rows ascending; s.positions),
// the ones it keeps computing, as indices into `rows` (ascending, for transformer::select_rows).
// Kept: every uncached row and the last row, and the round(r x cached chunk rows of the layout)
// cached chunk rows whose V moved most between the cache and the fresh computation (sum over heads
// and dims of (V_fresh - V_cached)^2). Cached system rows are an exact prefix: never kept.
//   v_fresh  [rows.size(), row_width] f32: this layer's fresh V of `rows`
//   v_cached [N, row_width] f16: this layer's V as placed from the caches (global rows)
std::vector<int32_t> cacheblend_rows(const link_layout& layout, std::span<const int32_t> rows, std::span<const float> v_fresh,
                                     std::span<const uint16_t> v_cached, int row_width, double r);

} // namespace epic
