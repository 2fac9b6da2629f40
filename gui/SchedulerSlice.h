#pragma once
// The window's thread asks the scheduler for short time slices. On a busy 2-core machine (the model's
// compute threads adding documents and answering, other programs beside) the event loop's worst gap
// reached 58-98 ms, of which the GUI thread itself ran under 7 ms: it waited for a core. Linux's
// EEVDF scheduler (6.12 and later) gives a thread with a shorter slice an earlier deadline when it
// wakes, so it runs promptly, and costs nobody CPU time: its weight, and so its share, is unchanged.
// Lowering the workers' priority instead (nice) was measured and dropped: it did not shorten the gap
// and starved adding and answering whenever another program kept the cores busy.
#include <cstdint>

// The slice the window's thread asks for (the scheduler's default here is 1.4 ms; 0.1 ms is the least
// it grants).
inline constexpr std::uint64_t windowSchedulerSliceNs = 500'000;

// Asks for windowSchedulerSliceNs for the calling thread only: threads it starts later keep the
// default slice. Returns false where the kernel refuses (not
// Linux, or too old to know the request: there it changes nothing, and nothing breaks).
bool requestShortSchedulerSlice();

// The calling thread's slice as the kernel reports it (0 where it reports none).
std::uint64_t currentSchedulerSliceNs();
