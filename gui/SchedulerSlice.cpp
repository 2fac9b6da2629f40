#include "SchedulerSlice.h"

#include <cstring>

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace {

#if defined(__linux__)
// struct sched_attr of <linux/sched/types.h>, which clashes with glibc's <sched.h>; the kernel takes
// the size the caller gives. For SCHED_OTHER, sched_runtime is the requested slice (Linux 6.12+).
struct SchedAttr {
    std::uint32_t size;
    std::uint32_t policy;
    std::uint64_t flags;
    std::int32_t nice;
    std::uint32_t priority;
    std::uint64_t runtime;
    std::uint64_t deadline;
    std::uint64_t period;
    std::uint32_t utilMin;
    std::uint32_t utilMax;
};

bool getAttr(SchedAttr& a) {
    std::memset(&a, 0, sizeof a);
    return ::syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) == 0;
}
#endif

} // namespace

bool requestShortSchedulerSlice() {
#if defined(__linux__)
    SchedAttr a;
    if (!getAttr(a) || a.policy != 0 /* SCHED_OTHER */) return false; // a policy someone chose: keep it
    a.size = sizeof a;
    // Threads started from the window's thread (the workers, and through them the model's compute
    // threads) would inherit the short slice; reset-on-fork gives them the default.
    a.flags = 0x01; // SCHED_FLAG_RESET_ON_FORK
    a.runtime = windowSchedulerSliceNs; // same policy and nice: only the slice changes
    return ::syscall(SYS_sched_setattr, 0, &a, 0) == 0;
#else
    return false;
#endif
}

std::uint64_t currentSchedulerSliceNs() {
#if defined(__linux__)
    SchedAttr a;
    return getAttr(a) ? a.runtime : 0;
#else
    return 0;
#endif
}
