#pragma once
// Group-wise quantization of a chunk's K and V for storage (the q8 and q4 formats of pic/kv_format.h).
// A tensor [n_rows, width] f16 (width = n_head_kv * head_dim) becomes codes and one (scale, min) per
//   axis tokens:   channel and group of `group` consecutive rows ("per channel", KIVI's K), or
//   axis channels: row and group of `group` consecutive channels ("per token", KIVI's V);
// the last group of either axis may be shorter (the tail group). The stored formats group K and V
// per channel (kv_quant_v_axis: measured below).
//
// A value is decoded as f16(fma(code, scale, min)) with scale and min f16 (asymmetric: min is the
// group's smallest value, scale = (max - min) / (2^bits - 1), rounded up so every code fits).
// Codes are unsigned, 8 bits one per byte, or 4 bits two per byte: rows 2i and 2i+1 of a channel
// share byte (i, c), row 2i in the low nibble (an odd last row leaves a zero high nibble). Pairing
// rows, not channels, keeps a decoded row's codes contiguous for both axes, and a pair never
// straddles a K group because groups are even.
//
// Decoding (what loading a cache costs) is vectorised (AVX-512 or AVX2+F16C, chosen at compile time)
// and bit-exact with the scalar reference and with the CUDA kernel (kernels/kv_dequantize.cu): the
// same fma in f32 and the same round-to-nearest-even to f16.
#include "pic/kv_format.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace epic {

enum class kv_quant_axis {
    tokens,   // K: groups of `group` consecutive rows, one scale per (group, channel)
    channels, // V: groups of `group` consecutive channels, one scale per (row, group)
};

// How the stored formats group, measured on SmolLM2 (epic bench kv --group G --v-axis A: 8 x 512
// tokens of the sample library, relative L2 error of K / V over all layers, q4 stored bytes over
// uncompressed f16; and the worst of the 30 layers on the Harbor Gauge sheet, the real-K/V test):
//   V per token (KIVI):   G = 32: K 3.4%, V 8.2% (worst layer 10.4%), 0.292   G = 128: V 10.7% (18.7%), 0.240
//   V per channel:        G = 32: V worst layer 7.8%                          G = 128: V worst layer 10.7%
//   K per channel:        G = 16 2.8%, 32 3.4%, 64 3.8%, 128 4.2% (worst layer 4.4% at 32, 5.7% at 128)
// The f16 scale and minimum cost 32 / G bits per value, so only G = 128 brings q4 under a quarter of
// f16's bytes; per token, V's groups of 128 channels span heads of unequal spread (SmolLM2's heads
// are 64 wide) and the worst layer's error nearly doubles, while per channel V keeps each channel's
// range, as K does: at G = 128 per channel V errs no more than per token at G = 32. So both K and V
// are grouped per channel, 128 rows at a time, in both formats (q8: 0.49 of f16's bytes).
inline constexpr int kv_quant_group = 128;
inline constexpr kv_quant_axis kv_quant_v_axis = kv_quant_axis::tokens;

// Bits per code of K (value = false) or V (value = true) in a format: 8 or 4; 16 for f16.
int kv_format_bits(kv_format f, bool value);
// "tokens" (groups of rows: one scale per channel and group) / "channels" (groups of channels: one
// scale per row and group), and back (throws epic::error naming the accepted names).
const char* kv_quant_axis_name(kv_quant_axis a);
kv_quant_axis parse_kv_quant_axis(const std::string& name);

// The shapes of one quantized tensor. check() throws epic::error naming the problem for a layout
// that cannot exist (bits not 4 or 8, group odd or outside [2, 4096], sizes <= 0 or beyond 2^31).
struct kv_quant_layout {
    int64_t n_rows = 0; // tokens
    int64_t width = 0;  // n_head_kv * head_dim
    int bits = 8;
    int group = kv_quant_group;
    kv_quant_axis axis = kv_quant_axis::tokens;

    void check() const;
    int64_t code_rows() const { return bits == 8 ? n_rows : (n_rows + 1) / 2; }
    size_t code_bytes() const { return (size_t)code_rows() * (size_t)width; } // codes [code_rows, width] u8
    // Scales and minima are each [scale_rows, scale_cols] f16.
    int64_t scale_rows() const { return axis == kv_quant_axis::tokens ? (n_rows + group - 1) / group : n_rows; }
    int64_t scale_cols() const { return axis == kv_quant_axis::tokens ? width : (width + group - 1) / group; }
    size_t scale_count() const { return (size_t)scale_rows() * (size_t)scale_cols(); }
};

// x [n_rows, width] f16 -> codes [code_rows, width] u8, scales and mins [scale_rows, scale_cols] f16.
// Throws epic::error when x holds a NaN or an infinity (nothing finite can stand for it). Allocates
// one scratch buffer per call (group x width floats at most).
void kv_quantize(const kv_quant_layout& l, const uint16_t* x, uint8_t* codes, uint16_t* scales, uint16_t* mins);

// The inverse: out [n_rows, width] f16 = f16(fma(code, scale, min)). Never allocates. Vectorised.
void kv_dequantize(const kv_quant_layout& l, const uint8_t* codes, const uint16_t* scales, const uint16_t* mins,
                   uint16_t* out);

// The same, one element at a time: the reference the vector code and the CUDA kernel must equal.
void kv_dequantize_scalar(const kv_quant_layout& l, const uint8_t* codes, const uint16_t* scales, const uint16_t* mins,
                          uint16_t* out);

// The instruction sets compiled in, for tests: kv_dequantize_with answers false (and writes nothing)
// for a level this build lacks; kv_dequantize uses kv_dequantize_best().
enum class kv_simd { scalar, avx2, avx512 };
kv_simd kv_dequantize_best();
const char* kv_simd_name(kv_simd s);
bool kv_dequantize_with(kv_simd s, const kv_quant_layout& l, const uint8_t* codes, const uint16_t* scales,
                        const uint16_t* mins, uint16_t* out);

} // namespace epic
