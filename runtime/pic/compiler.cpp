#include "pic/compiler.h"

#include "common/error.h"

#include <numeric>

namespace epic {

chunk_cache compile_chunk(transformer& tf, std::span<const int32_t> chunk_tokens, int32_t bos,
                          const compile_options& options, std::span<const int32_t> context) {
    if (options.n_sink < 0) throw error("compile: negative sink count");
    if (options.n_sink > 0 && bos < 0) throw error("compile: the model has no BOS token to compile sinks with");
    const model_config& c = tf.config();
    chunk_cache out;
    out.model_fingerprint = tf.get_model().fingerprint();
    out.options = options;
    out.options.context = context.empty() ? std::string() : context_fingerprint(context);
    out.options.context_rows = (int)context.size();
    out.tokens.assign((size_t)options.n_sink, bos);
    out.tokens.insert(out.tokens.end(), chunk_tokens.begin(), chunk_tokens.end());
    if (out.tokens.empty()) throw error("compile: empty chunk");
    out.n_layer = c.n_layer;
    out.n_head_kv = c.n_head_kv;
    out.head_dim = c.head_dim;
    const int n = out.n_rows(), first = (int)context.size();
    // [first + n] the context (recomputed here: a system segment is short next to a chunk), then the chunk.
    std::vector<int32_t> tokens(context.begin(), context.end());
    tokens.insert(tokens.end(), out.tokens.begin(), out.tokens.end());
    std::vector<int32_t> positions(tokens.size());
    std::iota(positions.begin(), positions.end(), 0);
    auto kv = tf.new_kv_cache((int)tokens.size(), /*keep_prerope_k=*/true);
    forward_state s;
    tf.begin(s, tokens, positions);
    for (int il = 0; il < c.n_layer; ++il) tf.layer(il, s, *kv);
    // [n, n_head_kv, head_dim] per layer: the cache rows first..first+n-1.
    const size_t elems = (size_t)n * (size_t)out.row_width(), skip = (size_t)first * (size_t)out.row_width();
    out.k.resize((size_t)c.n_layer);
    out.v.resize((size_t)c.n_layer);
    backend& be = tf.get_backend();
    for (int il = 0; il < c.n_layer; ++il) {
        out.k[(size_t)il].resize(elems);
        out.v[(size_t)il].resize(elems);
        be.download(out.k[(size_t)il].data(), kv->k_raw(il) + skip, elems * sizeof(uint16_t));
        be.download(out.v[(size_t)il].data(), kv->v(il) + skip, elems * sizeof(uint16_t));
    }
    return out;
}

} // namespace epic
