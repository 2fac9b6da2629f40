#pragma once
// The one timing primitive (ingest progress, link stages, time to first token, benchmarks): seconds of the
// steady clock, which never jumps when the wall clock is set.
#include <chrono>

namespace epic {

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace epic
