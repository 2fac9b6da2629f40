#include "LatencyProbe.h"

#include <time.h>

namespace {

qint64 threadCpuNs() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (qint64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

} // namespace

LatencyProbe::LatencyProbe(int intervalMs, QObject* parent) : QObject(parent) {
    timer_.setInterval(intervalMs);
    timer_.setTimerType(Qt::PreciseTimer);
    connect(&timer_, &QTimer::timeout, this, &LatencyProbe::tick);
}

void LatencyProbe::start() {
    worstNs_ = totalNs_ = ticks_ = worstCpuNs_ = 0;
    clock_.start();
    lastNs_ = clock_.nsecsElapsed();
    lastCpuNs_ = threadCpuNs();
    timer_.start();
}

void LatencyProbe::stop() { timer_.stop(); }

void LatencyProbe::tick() {
    const qint64 now = clock_.nsecsElapsed();
    const qint64 cpu = threadCpuNs();
    const qint64 gap = now - lastNs_;
    if (gap > worstNs_) {
        worstNs_ = gap;
        worstCpuNs_ = cpu - lastCpuNs_;
    }
    lastNs_ = now;
    lastCpuNs_ = cpu;
    totalNs_ += gap;
    ++ticks_;
}
