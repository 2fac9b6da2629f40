#pragma once
// A cancel flag for numbered requests that are queued to a worker thread. The GUI thread calls
// cancel(id) at any time (even before the worker has started request id); the worker calls begin(id)
// when it starts it and hands flag() to the runtime, which checks it per token and per chunk.
#include <QtGlobal>

#include <atomic>

class CancelSwitch {
public:
    // Any thread: cancels request `id` and every earlier one.
    void cancel(quint64 id) {
        quint64 seen = cancelledUpTo_.load();
        while (seen < id && !cancelledUpTo_.compare_exchange_weak(seen, id)) {
        }
        flag_.store(true);
    }
    // Worker thread, before running request `id`. Clearing first and re-checking after means a cancel
    // racing with begin() is never lost.
    void begin(quint64 id) {
        flag_.store(false);
        if (cancelledUpTo_.load() >= id) flag_.store(true);
    }
    bool cancelled() const { return flag_.load(); }
    const std::atomic<bool>* flag() const { return &flag_; }

private:
    std::atomic<bool> flag_{false};
    std::atomic<quint64> cancelledUpTo_{0};
};
