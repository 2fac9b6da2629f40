#include "BackgroundPriority.h"

#include <QThread>

#include <cerrno>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

// Linux applies setpriority(PRIO_PROCESS, tid) to one thread; elsewhere it would be the process.
id_t thisThreadId() { return (id_t)::syscall(SYS_gettid); }

} // namespace

int currentThreadNice() {
    errno = 0;
    return ::getpriority(PRIO_PROCESS, thisThreadId());
}

void lowerPriorityWhenStarted(QThread* thread) {
    // QThread::setPriority has no effect under Linux's default scheduling policy; the thread's nice
    // value does. A direct connection runs this on the new thread as it starts, before its event loop.
    QObject::connect(
        thread, &QThread::started, thread,
        [] {
            // Raising one's own nice value needs no privilege; a failure leaves the thread as it was.
            (void)::setpriority(PRIO_PROCESS, thisThreadId(), currentThreadNice() + backgroundNiceIncrement);
        },
        Qt::DirectConnection);
}
