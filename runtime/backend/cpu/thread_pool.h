#pragma once
// A fixed set of worker threads running one parallel loop at a time. The caller's thread takes part,
// so a pool of n threads starts n-1 workers. Not a global: each CPU backend owns one.
//
// Decoding one token of a small model runs a few hundred short parallel loops, so a condition-
// variable wake-up per loop (tens of microseconds) can cost more than the work. Workers therefore
// spin on an atomic generation counter for a short, time-bounded while before they sleep, and the
// caller spins the same way while it waits for the last worker.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace epic {

class thread_pool {
public:
    explicit thread_pool(int n_threads);
    ~thread_pool();
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;

    int size() const { return n_threads_; }
    // Runs fn(task, thread_index) for every task in [0, n_tasks), tasks handed out dynamically.
    // Returns when all are done. fn must not throw.
    void parallel_for(int64_t n_tasks, const std::function<void(int64_t task, int thread)>& fn);

private:
    void worker(int index);
    void run_tasks(int thread);

    int n_threads_;
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    const std::function<void(int64_t, int)>* job_ = nullptr; // published by the generation increment
    int64_t n_tasks_ = 0;
    std::atomic<int64_t> next_task_{0};
    std::atomic<int> busy_workers_{0};
    std::atomic<uint64_t> generation_{0};
    std::atomic<bool> stop_{false};
};

} // namespace epic
