#pragma once
// Which rows a link recomputes, and how the chunks it links were compiled (DESIGN.md, "Compile and
// link"). The paper's algorithms stay exactly as specified; the designs beyond it are named
// modifiers joined to an algorithm with '+', e.g. "legolink-16+ctx+hdr+q-0.05". This file names
// them; what each does is in pic/link_rules.h.
#include "pic/chunk_cache.h"
#include "pic/kv_format.h"

#include <string>

namespace epic {

struct link_policy {
    enum class algorithm { full, naive, legolink, cacheblend };
    algorithm algo = algorithm::legolink;
    int k = 16;       // legolink: first k rows of every chunk (its BOS counted); 0 = sink variant
    double r = 0.15;  // cacheblend: fraction of cached rows recomputed from layer 1 on

    // --- beyond the paper ---------------------------------------------------------------------------
    // "+ctx": chunks are context-compiled after the link's system segment (compile_options::context).
    bool context_compiled = false;
    // "+hdr": a chunk opens with a document header line ("Document: <title>") instead of the BOS,
    // which for chat models is a turn-opening token; the model also learns the document's title.
    bool header_framing = false;
    // "+tail-J": also the last J rows of every chunk (the seam into the next segment).
    int tail = 0;
    // "+last-N": also every row of the N chunks nearest the question. The service lays the retrieved
    // chunks out best-ranked last, so these are the ones retrieval ranks first: the chunks whose rows,
    // seen in context, decide the answer (bench qa --oracle: recomputing the chunk that holds the answer
    // brings a link to full-recompute accuracy on Qwen2.5 0.5B).
    int last = 0;
    // "+q-F" / "+q-F@L": also F x (cached chunk rows) rows the question attends to most, read from
    // the question rows' attention at layer L (default: query_layer_default), chosen per chunk in
    // contiguous groups of query_group rows.
    double query = 0.0;
    int query_layer = -1;
    // "+qc-F" / "+qc-F@L": the same budget spent on whole chunk prefixes instead: the chunks the
    // question attends to most (attention summed over the chunk) get their recomputed head extended,
    // best chunk first, so every chunk stays one recomputed prefix and one cached rest.
    bool query_prefix = false;
    static constexpr int query_group = 4;
    // "+kv-q8" / "+kv-k8v4" / "+kv-q4": the chunks' caches are stored quantized (pic/kv_format.h), so a link sees
    // their K and V as decoded from that format. f16 (the default) adds nothing to the name.
    kv_format kv = kv_format::f16;
    // "+ape-T" / "+ape-T:S": attention temperature over the linked chunks (APE, arXiv 2502.05431): the
    // question and the answer see the chunks' keys with logits / T and the chunks' log-sum-exp scaled
    // by S x T (attention_params::context_*); S = T unless given. 1 and 1: plain attention.
    double ape_temperature = 1.0;
    double ape_scale = 1.0;
    bool ape() const { return ape_temperature != 1.0 || ape_scale != 1.0; }

    // The app's default (service, CLI, GUI): the design closest to a full recompute in the QA benchmark
    // (README, "Measured", issue 13: Qwen2.5-Coder-0.5B, 200 questions in retrieval order, 98.0% against
    // a full recompute's 96.5%, +1.5 [-1.5, +4.5]; LegoLink-16 -18.0). The
    // best-ranked chunk, laid out last, is recomputed whole: the chunk-level oracle showed that the
    // answer's chunk seen in context is what a link lacks. The paper's algorithms stay selectable.
    // Caches of the previous default (legolink-16+hdr+tail-16) serve it: same compile scheme.
    static constexpr const char* app_default_name = "legolink-16+hdr+last-1";
    static link_policy app_default() { return parse(app_default_name); }
    // Whether caches compiled for `other` serve this policy too (same sinks, framing, context and
    // stored format).
    bool same_compile_scheme(const link_policy& other) const {
        return sink_tokens() == other.sink_tokens() && header_framing == other.header_framing &&
               context_compiled == other.context_compiled && kv == other.kv;
    }

    // "full", "naive", "legolink" (k=16), "legolink-8", "legolink-0", "cacheblend" (r=0.15),
    // "cacheblend-0.05", each optionally followed by modifiers; "default" is app_default(). Throws
    // epic::error for anything else.
    static link_policy parse(const std::string& s);
    std::string name() const;
    // The sink tokens (BOS) a chunk is compiled with under this policy, and the options compile_chunk
    // is given for its chunks. Rules of the algorithms: defined in pic/link_rules.cpp with the others.
    int sink_tokens() const;
    compile_options chunk_compile_options() const;
    // The text a chunk is compiled from: the header line and the text under header framing, else the text.
    std::string chunk_text(const std::string& title, const std::string& text) const;
    // The layer whose attention picks the query-aware rows, for a model of n_layer layers.
    int query_layer_for(int n_layer) const;
};

} // namespace epic
