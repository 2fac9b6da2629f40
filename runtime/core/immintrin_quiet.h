#pragma once
// <immintrin.h> without GCC 12's false warnings: it reports its own AVX-512 intrinsics
// (_mm512_undefined_* self-initialisation) as uninitialised once inlined, at header locations, so they
// are silenced there only. Every SIMD file includes the intrinsics through here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
