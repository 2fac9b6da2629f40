#pragma once
// A fixed set of worker threads running one parallel loop at a time. The caller's thread takes part,
// so a pool of n threads starts n-1 workers. Not a global: each CPU backend owns one.
//
// Decoding one token of a small model runs a few hundred short parallel loops, so a condition-
// variable wake-up per loop (tens of microseconds) can cost more than the work. Workers therefore
// spin on an atomic generation counter for a short, time-bounded while before they sleep, and the
// caller spins the same way while it waits for the last task.
//
// A loop is over when its last task is done, not when every worker has looked in: on a machine whose
// cores are taken by other programs a worker may not run for milliseconds, and waiting for it at every
// one of those hundreds of loops made an answer many times slower. A worker that arrives late finds
// the loop's tasks taken (or the next loop published) and never runs a task of a loop it did not see.
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
    // Runs tasks of the loop published as generation `gen` until none is left (or another loop has
    // replaced it): each task is claimed by a compare-and-swap on next_ that succeeds only while next_
    // still belongs to `gen`, so a task is run once, and only with its own loop's function.
    void run_tasks(uint32_t gen, int thread);

    int n_threads_;
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    // The loop in hand. parallel_for stores next_, then job_ and n_tasks_ (release), then bumps the
    // generation: a thread that reads a new job_ or n_tasks_ (acquire) also sees the new next_, so a
    // late worker holding an older generation fails its claim instead of mixing two loops.
    std::atomic<const std::function<void(int64_t, int)>*> job_{nullptr};
    std::atomic<int64_t> n_tasks_{0};
    std::atomic<uint64_t> next_{0};      // (generation << 32) | index of the next task to hand out
    std::atomic<int64_t> remaining_{0};  // tasks of the loop in hand not finished yet
    std::atomic<uint32_t> generation_{0};
    std::atomic<bool> stop_{false};
};

} // namespace epic
