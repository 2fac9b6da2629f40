#include "LatencyProbe.h"

LatencyProbe::LatencyProbe(int intervalMs, QObject* parent) : QObject(parent) {
    timer_.setInterval(intervalMs);
    timer_.setTimerType(Qt::PreciseTimer);
    connect(&timer_, &QTimer::timeout, this, &LatencyProbe::tick);
}

void LatencyProbe::start() {
    worstNs_ = totalNs_ = ticks_ = 0;
    clock_.start();
    lastNs_ = clock_.nsecsElapsed();
    timer_.start();
}

void LatencyProbe::stop() { timer_.stop(); }

void LatencyProbe::tick() {
    const qint64 now = clock_.nsecsElapsed();
    const qint64 gap = now - lastNs_;
    lastNs_ = now;
    worstNs_ = qMax(worstNs_, gap);
    totalNs_ += gap;
    ++ticks_;
}
