// The CPU backend's thread pool: every task of every loop runs exactly once, on a valid thread index
// never used by two threads at once, when loops of any size follow each other quickly and when there
// are more threads than cores (workers then often arrive after a loop is over and must run nothing of
// it, nor of the next loop under the old loop's function). That a loop does not wait for a worker the
// machine does not schedule is measured, not asserted: `epic bench decode` beside CPU hogs (README).
#include "backend/cpu/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

namespace epic {
namespace {

TEST(thread_pool, every_task_of_every_loop_runs_once_on_a_valid_thread) {
    std::mt19937 rng(std::random_device{}());
    for (int threads : {2, 3, 8}) { // 8 on a 2-core machine: oversubscribed
        thread_pool pool(threads);
        for (int loop = 0; loop < 3000; ++loop) {
            const int64_t n = std::uniform_int_distribution<int64_t>(1, loop % 50 == 0 ? 5000 : 40)(rng);
            std::vector<std::atomic<int>> runs((size_t)n);
            std::atomic<bool> bad_thread{false};
            pool.parallel_for(n, [&](int64_t t, int thread) {
                runs[(size_t)t].fetch_add(1, std::memory_order_relaxed);
                if (thread < 0 || thread >= threads) bad_thread = true;
            });
            for (int64_t t = 0; t < n; ++t) ASSERT_EQ(runs[(size_t)t].load(), 1) << "loop " << loop << " task " << t << " of " << n;
            ASSERT_FALSE(bad_thread.load());
        }
    }
}

TEST(thread_pool, per_thread_scratch_is_never_shared_within_a_loop) {
    // The backend gives each thread index its own scratch buffer: two threads running under one
    // index at once would corrupt it.
    thread_pool pool(4);
    std::vector<std::atomic<int>> inside(4);
    std::atomic<bool> shared{false};
    for (int loop = 0; loop < 500; ++loop)
        pool.parallel_for(64, [&](int64_t, int thread) {
            if (inside[(size_t)thread].fetch_add(1) != 0) shared = true;
            std::this_thread::yield();
            inside[(size_t)thread].fetch_sub(1);
        });
    EXPECT_FALSE(shared.load());
}

} // namespace
} // namespace epic
