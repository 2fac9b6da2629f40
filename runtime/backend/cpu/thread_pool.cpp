#include "backend/cpu/thread_pool.h"

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

void thread_pool::run_tasks(int thread) {
    for (;;) {
        const int64_t task = next_task_.fetch_add(1, std::memory_order_relaxed);
        if (task >= n_tasks_) break;
        (*job_)(task, thread);
    }
}

void thread_pool::worker(int index) {
    uint64_t seen = 0;
    for (;;) {
        auto has_work = [&] { return generation_.load(std::memory_order_acquire) != seen || stop_.load(); };
        if (!spin_until(has_work)) {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, has_work);
        }
        if (stop_.load()) return;
        seen = generation_.load(std::memory_order_acquire);
        run_tasks(index);
        if (busy_workers_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            std::lock_guard<std::mutex> lock(mutex_); // pairs with the caller's predicate check
            done_.notify_one();
        }
    }
}

void thread_pool::parallel_for(int64_t n_tasks, const std::function<void(int64_t, int)>& fn) {
    if (n_tasks <= 0) return;
    if (n_threads_ == 1 || n_tasks == 1) {
        for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
        return;
    }
    job_ = &fn;
    n_tasks_ = n_tasks;
    next_task_.store(0, std::memory_order_relaxed);
    busy_workers_.store((int)workers_.size(), std::memory_order_relaxed);
    {
        // Under the lock, so a worker between its last poll and its wait cannot miss the wake-up.
        std::lock_guard<std::mutex> lock(mutex_);
        generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    run_tasks(0);
    auto all_done = [&] { return busy_workers_.load(std::memory_order_acquire) == 0; };
    if (!spin_until(all_done)) {
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, all_done);
    }
    job_ = nullptr;
}

} // namespace epic
