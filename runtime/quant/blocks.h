#pragma once
// ggml's block layouts, byte for byte: GGUF files store tensors as arrays of these structs, so every
// field order, width and packing rule here is fixed by the file format (see ggml-common.h upstream).
// Sizes are asserted against the block_bytes column of core/tensor_type.cpp.
#include <cstdint>

namespace epic {

inline constexpr int qk8_0 = 32; // elements per q8_0 / q4_0 block
inline constexpr int qk4_0 = 32; // and q4_1, q5_0, q5_1
inline constexpr int qk_k = 256; // elements per K-quant super-block
inline constexpr int k_scale_size = 12;

// 8-bit, one f16 scale per 32 elements: x[i] = d * qs[i].
struct block_q8_0 {
    uint16_t d;     // f16 scale
    int8_t qs[32];  // [32] quants
};

// 4-bit, one f16 scale per 32: x[i] = d * (nibble - 8); byte j holds element j (low) and j+16 (high).
struct block_q4_0 {
    uint16_t d;      // f16 scale
    uint8_t qs[16];  // [16] two nibbles each
};

// 4-bit with a minimum, one f16 scale and min per 32: x[i] = d * nibble + m; nibbles as in q4_0.
struct block_q4_1 {
    uint16_t d;      // f16 scale
    uint16_t m;      // f16 minimum
    uint8_t qs[16];  // [16] two nibbles each
};

// 5-bit, one f16 scale per 32: x[i] = d * (q - 16), q = nibble | (fifth bit << 4). Nibbles as in
// q4_0; the fifth bits are the little-endian 32-bit word qh: bit j is element j's, j = 0..31.
struct block_q5_0 {
    uint16_t d;      // f16 scale
    uint8_t qh[4];   // [32] fifth bits
    uint8_t qs[16];  // [16] two low nibbles each
};

// 5-bit with a minimum: x[i] = d * q + m, q laid out as in q5_0.
struct block_q5_1 {
    uint16_t d;      // f16 scale
    uint16_t m;      // f16 minimum
    uint8_t qh[4];   // [32] fifth bits
    uint8_t qs[16];  // [16] two low nibbles each
};

// 4-bit K-quant: 8 sub-blocks of 32, each with a 6-bit scale and 6-bit min packed in `scales`
// (see get_scale_min_k4 below). x = d*sc*q - dmin*m.
// qs: 4 chunks of 32 bytes; chunk c holds elements 64c+l (low nibble) and 64c+32+l (high nibble).
struct block_q4_k {
    uint16_t d;               // f16 super-block scale for the scales
    uint16_t dmin;            // f16 super-block scale for the mins
    uint8_t scales[12];       // 8 x (6-bit scale, 6-bit min)
    uint8_t qs[128];          // [256] nibbles
};

// 5-bit K-quant: q4_K's layout plus a fifth bit per element in qh: element 64c+l takes bit 2c of
// qh[l], element 64c+32+l takes bit 2c+1.
struct block_q5_k {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qh[32];           // [256] high bits
    uint8_t qs[128];          // [256] low nibbles
};

// 6-bit K-quant: 16 sub-blocks of 16 with signed 8-bit scales. x = d * sc * (q - 32).
// Per 128-element half h: ql[64h + l] holds elements l (low) and l+64 (high); ql[64h + 32 + l] holds
// l+32 (low) and l+96 (high); qh[32h + l] bits 0-1, 2-3, 4-5, 6-7 are the top two bits of l, l+32,
// l+64, l+96 (element indices relative to the half).
struct block_q6_k {
    uint8_t ql[128];          // [256] low 4 bits
    uint8_t qh[64];           // [256] high 2 bits
    int8_t scales[16];        // [16] sub-block scales
    uint16_t d;               // f16 super-block scale
};

// 8-bit K-quant, the activation type of K-quant dots: x = d * qs; bsums[j] = sum of qs[16j..16j+16).
struct block_q8_k {
    float d;
    int8_t qs[256];
    int16_t bsums[16];
};

static_assert(sizeof(block_q8_0) == 34, "q8_0 block must match tensor_type.cpp (34 bytes)");
static_assert(sizeof(block_q4_0) == 18, "q4_0 block must match tensor_type.cpp (18 bytes)");
static_assert(sizeof(block_q4_1) == 20, "q4_1 block must match tensor_type.cpp (20 bytes)");
static_assert(sizeof(block_q5_0) == 22, "q5_0 block must match tensor_type.cpp (22 bytes)");
static_assert(sizeof(block_q5_1) == 24, "q5_1 block must match tensor_type.cpp (24 bytes)");
static_assert(sizeof(block_q4_k) == 144, "q4_K block must match tensor_type.cpp (144 bytes)");
static_assert(sizeof(block_q5_k) == 176, "q5_K block must match tensor_type.cpp (176 bytes)");
static_assert(sizeof(block_q6_k) == 210, "q6_K block must match tensor_type.cpp (210 bytes)");
static_assert(sizeof(block_q8_k) == 292, "q8_K block must match tensor_type.cpp (292 bytes)");
static_assert(alignof(block_q8_0) == 2 && alignof(block_q6_k) == 2, "blocks are packed as in ggml");

// The 6-bit scale and min of sub-block j (0..7) of a q4_K/q5_K block. Bit-exact with ggml's
// get_scale_min_k4: j < 4 keep the low 6 bits of bytes j and j+4; j >= 4 take a nibble of byte j+4
// and the top two bits of bytes j-4 (scale) and j (min).
inline void get_scale_min_k4(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

} // namespace epic
