#pragma once
// Measures how long the GUI thread's event loop can be blocked: a timer that should fire every
// `intervalMs` records the worst gap between two firings. A frozen window shows up as a large gap.
#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

class LatencyProbe : public QObject {
    Q_OBJECT
public:
    explicit LatencyProbe(int intervalMs = 5, QObject* parent = nullptr);
    void start();
    void stop();
    double worstGapMs() const { return worstNs_ / 1e6; }
    double meanGapMs() const { return ticks_ ? totalNs_ / 1e6 / ticks_ : 0.0; }
    qint64 ticks() const { return ticks_; }
    // CPU time the GUI thread itself spent during the worst gap: close to worstGapMs() means the GUI
    // thread was busy (our fault); much smaller means it was waiting for a core (machine load).
    double worstGapCpuMs() const { return worstCpuNs_ / 1e6; }

private:
    void tick();

    QTimer timer_;
    QElapsedTimer clock_;
    qint64 lastNs_ = 0;
    qint64 worstNs_ = 0;
    qint64 totalNs_ = 0;
    qint64 ticks_ = 0;
    qint64 lastCpuNs_ = 0;
    qint64 worstCpuNs_ = 0;
};
