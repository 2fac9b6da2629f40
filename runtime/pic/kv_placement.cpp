#include "pic/kv_placement.h"

#include "common/error.h"
#include "common/stopwatch.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <numeric>

namespace epic {
namespace {
using clock_type = std::chrono::steady_clock;
} // namespace

kv_placement::kv_placement(transformer& tf, const link_layout& layout, kv_cache& kv, kv_hot_tier* tier,
                           kv_staging_area& staging, link_stats& st)
    : tf_(tf), be_(tf.get_backend()), layout_(layout), kv_(kv), tier_(tier), staging_(staging), st_(st) {
    if (tier_ && &tier_->get_backend() != &be_) throw error("link: the hot tier belongs to another backend");
    const size_t row_bytes = (size_t)kv_.row_width() * sizeof(uint16_t);
    try {
        for (const link_segment& seg : layout_.segments) {
            if (!seg.cache) continue;
            source src;
            src.segment = &seg;
            if (tier_) {
                const std::string key = chunk_cache_key(*seg.cache);
                resident_chunk* e = tier_->find(key);
                if (e && !e->same_shape(*seg.cache)) e = nullptr; // a key clash: never read a wrong-shaped copy
                if (!e && !tier_->contains(key) && (e = tier_->insert(key, *seg.cache))) src.fill_entry = true;
                if (e) {
                    tier_->pin(*e); // from now on no insertion of this link can evict it
                    src.entry = e;
                }
            }
            if ((!src.entry || src.fill_entry) && !seg.cache->has_tensors()) {
                if (src.fill_entry) tier_->erase(chunk_cache_key(*seg.cache)); // pinned above, not yet in sources_
                throw error("link: a chunk cache holds no K/V in memory and is not resident in the GPU hot tier");
            }
            if (!src.entry || src.fill_entry) {
                // Host sources go through staging: the whole cache when it fills a tier entry, else only the rows used.
                src.staging_offset = slot_bytes_;
                slot_bytes_ += 2 * row_bytes * (size_t)(src.fill_entry ? seg.cache->n_rows() : seg.length);
                ++st_.chunks_staged;
            } else {
                ++st_.chunks_resident;
            }
            sources_.push_back(src);
        }
    } catch (...) {
        release_pins();
        drop_unfilled_entries();
        throw;
    }
    const int n_layer = tf_.config().n_layer;
    fences_.resize((size_t)n_layer);
    // At least two slots so that one layer's staging is filled while another's is in flight.
    n_slots_ = n_layer;
    if (slot_bytes_ > 0)
        n_slots_ = (int)std::clamp<size_t>(staging_.budget_bytes / slot_bytes_, std::min(2, n_layer), (size_t)n_layer);
}

kv_placement::~kv_placement() {
    if (finished_) return;
    try {
        // Transfers still running write into tier entries and read the staging memory (a fence now
        // also covers those of a layer whose staging failed half-way).
        if (n_staged_ > 0 || !sources_.empty()) be_.synchronize_transfer_fence(*be_.record_transfer_fence());
        staging_.last_use.reset();
    } catch (...) {
        // The backend failed while waiting: keep the staging memory from being reused or freed under
        // transfers that may still run (it is leaked, not freed, if the backend never recovers).
        staging_.last_use.reset();
        (void)staging_.buffer.release();
    }
    release_pins();
    drop_unfilled_entries();
}

void kv_placement::release_pins() {
    if (!tier_) return;
    for (source& s : sources_)
        if (s.entry && s.entry->pins > 0) tier_->unpin(*s.entry);
}

void kv_placement::drop_unfilled_entries() {
    if (!tier_) return;
    for (source& s : sources_)
        if (s.fill_entry && s.entry) {
            tier_->erase(s.entry->key); // not every layer of it was uploaded
            s.entry = nullptr;
        }
}

void kv_placement::start() {
    const auto t0 = clock_type::now();
    // Global positions of rows 0..N-1 are the rows themselves (compute queue: rope_f16 reads them).
    std::vector<int32_t> positions((size_t)layout_.n_rows());
    std::iota(positions.begin(), positions.end(), 0);
    positions_ = be_.alloc(positions.size() * sizeof(int32_t));
    be_.upload(positions_->data(), positions.data(), positions.size() * sizeof(int32_t));

    const size_t need = (size_t)n_slots_ * slot_bytes_;
    if (need > 0) {
        if (staging_.last_use) { // the previous link's transfers from the staging memory are long done; make sure
            be_.synchronize_transfer_fence(*staging_.last_use);
            staging_.last_use.reset();
        }
        if (!staging_.buffer || staging_.buffer->size() < need) {
            staging_.buffer.reset();
            staging_.buffer = be_.alloc_host_staging(need);
        }
    }
    // The new KV's memory may have been compute's until now (a freed cache's): transfers start after it.
    be_.transfers_after_compute();
    for (int il = 0; il < n_slots_; ++il) stage_layer(il);
    st_.seconds_place += seconds_since(t0);
}

void kv_placement::stage_layer(int il) {
    const int w = kv_.row_width();
    const size_t row_bytes = (size_t)w * sizeof(uint16_t);
    auto* slot = staging_.buffer ? staging_.buffer->as<uint8_t>() + (size_t)(il % n_slots_) * slot_bytes_ : nullptr;
    for (const source& s : sources_) {
        const link_segment& seg = *s.segment;
        const chunk_cache& c = *seg.cache;
        uint16_t* k_dst = kv_.k(il) + (size_t)seg.begin * w; // [length, n_head_kv, head_dim]
        uint16_t* v_dst = kv_.v(il) + (size_t)seg.begin * w;
        const size_t used_bytes = row_bytes * (size_t)seg.length;
        if (s.entry && !s.fill_entry) {
            be_.copy_async(k_dst, s.entry->k(il) + (size_t)seg.cache_first_row * w, used_bytes);
            be_.copy_async(v_dst, s.entry->v(il) + (size_t)seg.cache_first_row * w, used_bytes);
            st_.bytes_copied_device += 2 * used_bytes;
            continue;
        }
        uint8_t* k_stage = slot + s.staging_offset;
        if (s.fill_entry) {
            // The whole cache into the tier entry, then the rows used from there into the KV.
            const size_t all_bytes = row_bytes * (size_t)c.n_rows();
            uint8_t* v_stage = k_stage + all_bytes;
            std::memcpy(k_stage, c.k[(size_t)il].data(), all_bytes);
            std::memcpy(v_stage, c.v[(size_t)il].data(), all_bytes);
            be_.upload_async(s.entry->k(il), k_stage, all_bytes);
            be_.upload_async(s.entry->v(il), v_stage, all_bytes);
            be_.copy_async(k_dst, s.entry->k(il) + (size_t)seg.cache_first_row * w, used_bytes);
            be_.copy_async(v_dst, s.entry->v(il) + (size_t)seg.cache_first_row * w, used_bytes);
            st_.bytes_copied_host += 2 * all_bytes;
            st_.bytes_copied_device += 2 * used_bytes;
        } else {
            const size_t first = (size_t)seg.cache_first_row * w;
            uint8_t* v_stage = k_stage + used_bytes;
            std::memcpy(k_stage, c.k[(size_t)il].data() + first, used_bytes);
            std::memcpy(v_stage, c.v[(size_t)il].data() + first, used_bytes);
            be_.upload_async(k_dst, k_stage, used_bytes);
            be_.upload_async(v_dst, v_stage, used_bytes);
            st_.bytes_copied_host += 2 * used_bytes;
        }
    }
    fences_[(size_t)il] = be_.record_transfer_fence();
    n_staged_ = il + 1;
}

void kv_placement::place(int il) {
    const auto t0 = clock_type::now();
    if (il >= n_staged_) throw error("link: layer " + std::to_string(il) + " placed before its transfers were enqueued");
    const transfer_fence& fence = *fences_[(size_t)il];
    // The host waits too: the linker times each phase anyway, and this measures how long compute
    // would have stalled on the copies. The stream wait alone is what orders the work.
    const auto tw = clock_type::now();
    be_.synchronize_transfer_fence(fence);
    st_.seconds_wait_copy += seconds_since(tw);
    be_.wait_transfer_fence(fence);
    // Layer il's slot is free again: it takes the next layer not yet staged.
    if (n_staged_ < (int)fences_.size()) stage_layer(n_staged_);

    const model_config& cfg = tf_.config();
    const rope_params rp = tf_.rope(il);
    for (const source& s : sources_) {
        // Cached K is pre-RoPE: rotate it to the rows' global positions.
        const link_segment& seg = *s.segment;
        be_.rope_f16(kv_.k(il) + (size_t)seg.begin * kv_.row_width(), positions_->as<int32_t>() + seg.begin, seg.length,
                     cfg.n_head_kv, cfg.head_dim, rp);
    }
    be_.synchronize();
    st_.seconds_place += seconds_since(t0);
}

void kv_placement::finish() {
    if (n_staged_ > 0) staging_.last_use = std::move(fences_[(size_t)n_staged_ - 1]);
    release_pins();
    finished_ = true;
}

} // namespace epic
