#include "backend/cpu/thread_pool.h"

#include <algorithm>
#include <chrono>

namespace epic {
namespace {

// How long a thread keeps polling before it sleeps: long enough to bridge the gap between two
// loops of a decode step, short enough not to steal a core for long from other processes.
constexpr auto spin_time = std::chrono::microseconds(200);

// Polls cond() for up to spin_time; true when it became true. Each poll yields the core: nearly
// free on an idle machine, and on a busy one the thread we wait for gets to run (a pure busy-wait
// made decode several times slower when the cores were oversubscribed).
template <class Cond> bool spin_until(Cond cond) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0;; ++i) {
        if (cond()) return true;
        std::this_thread::yield();
        if ((i & 15) == 15 && std::chrono::steady_clock::now() - start > spin_time) return cond();
    }
}

} // namespace

thread_pool::thread_pool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads) {
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker(i); });
}

thread_pool::~thread_pool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_.store(true);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
}

void thread_pool::run_tasks(uint32_t gen, int thread) {
    const auto* job = job_.load(std::memory_order_acquire);
    const int64_t n = n_tasks_.load(std::memory_order_acquire);
    uint64_t cur = next_.load(std::memory_order_acquire);
    for (;;) {
        if ((uint32_t)(cur >> 32) != gen || (int64_t)(cur & 0xffffffffu) >= n) return;
        if (!next_.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
        // Claimed: the loop cannot end before this task does (remaining_ counts it), so `job` lives.
        (*job)((int64_t)(cur & 0xffffffffu), thread);
        if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            std::lock_guard<std::mutex> lock(mutex_); // pairs with the caller's predicate check
            done_.notify_one();
        }
        cur = next_.load(std::memory_order_acquire);
    }
}

void thread_pool::worker(int index) {
    uint32_t seen = 0;
    for (;;) {
        auto has_work = [&] { return generation_.load(std::memory_order_acquire) != seen || stop_.load(); };
        if (!spin_until(has_work)) {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, has_work);
        }
        if (stop_.load()) return;
        seen = generation_.load(std::memory_order_acquire);
        run_tasks(seen, index);
    }
}

void thread_pool::parallel_for(int64_t n_tasks, const std::function<void(int64_t, int)>& fn) {
    if (n_tasks <= 0) return;
    if (n_threads_ == 1 || n_tasks == 1) {
        for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
        return;
    }
    // A task index has 32 bits in next_: a larger loop runs as several (no caller comes near it).
    constexpr int64_t max_tasks = 0xffffffffLL;
    if (n_tasks > max_tasks) {
        for (int64_t base = 0; base < n_tasks; base += max_tasks)
            parallel_for(std::min(max_tasks, n_tasks - base), [&](int64_t t, int thread) { fn(base + t, thread); });
        return;
    }
    const uint32_t gen = generation_.load(std::memory_order_relaxed) + 1;
    remaining_.store(n_tasks, std::memory_order_relaxed);
    next_.store((uint64_t)gen << 32, std::memory_order_release);
    job_.store(&fn, std::memory_order_release);
    n_tasks_.store(n_tasks, std::memory_order_release);
    {
        // Under the lock, so a worker between its last poll and its wait cannot miss the wake-up.
        std::lock_guard<std::mutex> lock(mutex_);
        generation_.store(gen, std::memory_order_release);
    }
    wake_.notify_all();
    run_tasks(gen, 0);
    auto all_done = [&] { return remaining_.load(std::memory_order_acquire) == 0; };
    if (!spin_until(all_done)) {
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, all_done);
    }
}

} // namespace epic
