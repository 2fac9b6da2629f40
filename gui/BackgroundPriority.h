#pragma once
// The window's worker threads (chat, ingest, library) run at a lower scheduling priority than the
// GUI thread. On a busy 2-core machine the GUI thread otherwise waits for a core behind the model's
// compute threads: the event loop's worst gap was 58-98 ms while adding documents and answering, of
// which the GUI thread itself ran 7 ms. Threads a worker creates (the CPU backend's thread pool,
// made when the chat worker loads the model) inherit its niceness, so all of the model's compute
// yields to the window. Only the GUI build calls this: the CLI runs at the priority it is given.
class QThread;

// Nice increment of the worker threads: a nice-0 thread weighs about 3x a nice-5 one under Linux's
// scheduler, enough for the window to get a core at once, while an answer on an otherwise idle
// machine runs at full speed (niceness only matters when threads compete).
inline constexpr int backgroundNiceIncrement = 5;

// Makes `thread` lower its own priority when it starts (before any worker slot runs on it).
void lowerPriorityWhenStarted(QThread* thread);

// This thread's nice value (Linux: per thread), for tests and the diagnostics.
int currentThreadNice();
