// Grid execution: blocks spread over a few OS threads, a block's threads as fibers.
#include "emu_device.h"
#include "emu_state.h"

#include "cuda_runtime.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

namespace epic::cuda_emu {
namespace {

constexpr int max_block_threads = 1024;
constexpr size_t fiber_stack_bytes = 256u << 10; // kernels keep register arrays on it; lazily committed
constexpr size_t default_smem_limit = 48u << 10;

#if defined(__x86_64__)
// Saves the callee-saved registers, MXCSR and the x87 control word on the current stack, stores the
// stack pointer in *save_sp and resumes the context whose stack pointer is load_sp.
extern "C" void epic_cuda_emu_switch(void** save_sp, void* load_sp);
asm(R"(
    .text
    .globl epic_cuda_emu_switch
    .type epic_cuda_emu_switch,@function
epic_cuda_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size epic_cuda_emu_switch, .-epic_cuda_emu_switch
)");
#endif

enum class fiber_state : uint8_t { runnable, warp_wait, block_wait, done };

struct fiber {
    thread_context ctx{};
    int lane = 0, warp = 0;
    fiber_state state = fiber_state::runnable;
    unsigned wait_mask = 0;
    unsigned phase = 0; // warp exchanges completed: selects the exchange buffer
#if defined(__x86_64__)
    void* sp = nullptr;
#else
    ucontext_t uc{};
#endif
};

struct warp_buffers {
    uint64_t slot[2][32]; // double-buffered by phase: a fast lane's next exchange cannot clobber this one
};

void fiber_entry();

// Runs blocks on one OS thread. Owns the fiber stacks (reused by every block it runs).
class block_runner {
public:
    block_runner() {
        const size_t page = (size_t)sysconf(_SC_PAGESIZE);
        slot_bytes_ = fiber_stack_bytes + page; // a guard page below each stack turns overflow into a crash
        region_bytes_ = slot_bytes_ * max_block_threads;
        region_ = static_cast<char*>(
            mmap(nullptr, region_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
        if (region_ == MAP_FAILED) {
            region_ = nullptr;
            return;
        }
        for (int i = 0; i < max_block_threads; ++i) mprotect(region_ + (size_t)i * slot_bytes_, page, PROT_NONE);
    }
    ~block_runner() {
        if (region_) munmap(region_, region_bytes_);
    }
    block_runner(const block_runner&) = delete;
    block_runner& operator=(const block_runner&) = delete;

    bool ok() const { return region_ != nullptr; }

    // Runs one block to completion; returns "" or what went wrong.
    std::string run_block(const std::function<void()>& body, uint3 block_idx, dim3 block_dim, dim3 grid_dim, size_t smem,
                          bool reverse) {
        const int n = (int)(block_dim.x * block_dim.y * block_dim.z);
        body_ = &body;
        fibers_.resize((size_t)n);
        warps_.assign((size_t)(n + 31) / 32, warp_buffers{});
        smem_.assign(std::max<size_t>(smem, 16), 0xff);
        error_.clear();
        for (int i = 0; i < n; ++i) {
            fiber& f = fibers_[(size_t)i];
            f = fiber{};
            f.ctx.thread_idx = uint3{(unsigned)i % block_dim.x, ((unsigned)i / block_dim.x) % block_dim.y,
                                     (unsigned)i / (block_dim.x * block_dim.y)};
            f.ctx.block_idx = block_idx;
            f.ctx.block_dim = block_dim;
            f.ctx.grid_dim = grid_dim;
            f.ctx.dynamic_smem = smem ? smem_.data() : nullptr;
            f.lane = i & 31;
            f.warp = i >> 5;
            init_stack(i);
        }
        for (;;) {
            bool ran = false;
            for (int k = 0; k < n; ++k) {
                const int i = reverse ? n - 1 - k : k;
                if (fibers_[(size_t)i].state != fiber_state::runnable) continue;
                resume(i);
                ran = true;
                if (!error_.empty()) return error_;
            }
            (void)ran;
            if (std::all_of(fibers_.begin(), fibers_.end(), [](const fiber& f) { return f.state == fiber_state::done; }))
                return "";
            if (release_warps()) continue;
            if (!error_.empty()) return error_;
            if (std::all_of(fibers_.begin(), fibers_.end(), [](const fiber& f) {
                    return f.state == fiber_state::done || f.state == fiber_state::block_wait;
                })) {
                for (fiber& f : fibers_)
                    if (f.state == fiber_state::block_wait) f.state = fiber_state::runnable;
                continue;
            }
            return "deadlock: some threads wait at __syncthreads while others of their warp wait in a warp "
                   "shuffle/__syncwarp that can never complete";
        }
    }

    // --- called from inside a fiber ---
    thread_context& current() { return fibers_[(size_t)current_].ctx; }
    int lane() const { return fibers_[(size_t)current_].lane; }

    void block_barrier() {
        fibers_[(size_t)current_].state = fiber_state::block_wait;
        yield();
    }

    void warp_exchange(unsigned mask, const void* value, int src_lane, void* out, size_t size) {
        fiber& f = fibers_[(size_t)current_];
        warp_buffers& w = warps_[(size_t)f.warp];
        uint64_t* buf = w.slot[f.phase & 1u];
        if (value) std::memcpy(&buf[f.lane], value, size);
        f.state = fiber_state::warp_wait;
        f.wait_mask = mask;
        yield();
        if (out) {
            // A source lane outside the mask has no value for this exchange: undefined on a GPU, own value here.
            const bool in_mask = src_lane >= 0 && src_lane < 32 && ((mask >> src_lane) & 1u);
            std::memcpy(out, &buf[in_mask ? src_lane : f.lane], size);
        }
        ++f.phase;
    }

    void finish_current() { fibers_[(size_t)current_].state = fiber_state::done; }
    void run_body() { (*body_)(); }
    void back_to_scheduler() { yield(); }

private:
    void init_stack(int i) {
        char* top = region_ + (size_t)(i + 1) * slot_bytes_; // 16-aligned (page multiple)
#if defined(__x86_64__)
        auto* s = reinterpret_cast<uint64_t*>(top);
        s[-1] = 0;                                            // fake return address of fiber_entry
        s[-2] = reinterpret_cast<uint64_t>(&fiber_entry);     // popped by the switch's ret
        for (int r = 3; r <= 8; ++r) s[-r] = 0;               // rbp rbx r12 r13 r14 r15
        uint32_t control[2] = {0x1f80u, 0x037fu};             // default MXCSR, x87 control word
        std::memcpy(&s[-9], control, 8);
        fibers_[(size_t)i].sp = &s[-9];
#else
        fiber& f = fibers_[(size_t)i];
        getcontext(&f.uc);
        f.uc.uc_stack.ss_sp = top - fiber_stack_bytes;
        f.uc.uc_stack.ss_size = fiber_stack_bytes;
        f.uc.uc_link = nullptr;
        makecontext(&f.uc, fiber_entry, 0);
#endif
    }

    void resume(int i) {
        current_ = i;
#if defined(__x86_64__)
        epic_cuda_emu_switch(&sched_sp_, fibers_[(size_t)i].sp);
#else
        swapcontext(&sched_uc_, &fibers_[(size_t)i].uc);
#endif
    }

    void yield() {
#if defined(__x86_64__)
        epic_cuda_emu_switch(&fibers_[(size_t)current_].sp, sched_sp_);
#else
        swapcontext(&fibers_[(size_t)current_].uc, &sched_uc_);
#endif
    }

    // Releases every warp whose waiting lanes form a complete exchange. Sets error_ on a bad mask.
    bool release_warps() {
        bool released = false;
        const int n = (int)fibers_.size();
        for (int w = 0; w * 32 < n; ++w) {
            const int first = w * 32, lanes = std::min(32, n - first);
            unsigned waiting = 0, mask = 0;
            bool any = false;
            for (int l = 0; l < lanes; ++l) {
                const fiber& f = fibers_[(size_t)(first + l)];
                if (f.state != fiber_state::warp_wait) continue;
                if (any && f.wait_mask != mask) {
                    error_ = "warp " + std::to_string(w) + ": lanes wait in warp-synchronous calls with different masks";
                    return false;
                }
                mask = f.wait_mask;
                any = true;
                waiting |= 1u << l;
            }
            if (!any) continue;
            bool complete = true;
            for (int l = 0; l < 32; ++l) {
                if (!((mask >> l) & 1u)) continue;
                if (l >= lanes) {
                    error_ = "warp " + std::to_string(w) + ": shuffle mask names lane " + std::to_string(l) +
                             ", which does not exist in a block of " + std::to_string(n) + " threads";
                    return false;
                }
                const fiber_state st = fibers_[(size_t)(first + l)].state;
                if (st == fiber_state::done) {
                    error_ = "warp " + std::to_string(w) + ": lane " + std::to_string(l) +
                             " exited before a warp-synchronous call whose mask names it";
                    return false;
                }
                if (st != fiber_state::warp_wait) complete = false;
            }
            if ((waiting & ~mask) != 0) {
                error_ = "warp " + std::to_string(w) + ": a lane waits in a warp-synchronous call whose mask excludes it";
                return false;
            }
            if (!complete) continue;
            for (int l = 0; l < lanes; ++l)
                if ((waiting >> l) & 1u) fibers_[(size_t)(first + l)].state = fiber_state::runnable;
            released = true;
        }
        return released;
    }

    char* region_ = nullptr;
    size_t slot_bytes_ = 0, region_bytes_ = 0;
    std::vector<fiber> fibers_;
    std::vector<warp_buffers> warps_;
    std::vector<unsigned char> smem_;
    const std::function<void()>* body_ = nullptr;
    int current_ = 0;
    std::string error_;
#if defined(__x86_64__)
    void* sched_sp_ = nullptr;
#else
    ucontext_t sched_uc_{};
#endif
};

thread_local block_runner* tls_runner = nullptr; // set while this OS thread runs a block

block_runner& runner_of_this_thread() {
    thread_local block_runner runner;
    return runner;
}

void fiber_entry() {
    block_runner* r = tls_runner;
    r->run_body();
    r->finish_current();
    r->back_to_scheduler();
    __builtin_unreachable(); // a finished fiber is never resumed
}

// A few OS threads that run a grid's blocks; one grid at a time (launches are serialized).
class grid_pool {
public:
    grid_pool() {
        const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
        const int extra = (int)std::min(hw, 8u) - 1;
        for (int i = 0; i < extra; ++i) workers_.emplace_back([this] { worker_loop(); });
    }
    ~grid_pool() {
        {
            std::lock_guard lk(m_);
            stop_ = true;
        }
        cv_.notify_all();
        for (auto& t : workers_) t.join();
    }

    std::string run(const std::function<void()>& body, dim3 grid, dim3 block, size_t smem) {
        std::lock_guard launch_lock(launch_m_);
        job_ = job{&body, grid, block, smem};
        next_.store(0);
        error_.clear();
        const long long blocks = (long long)grid.x * grid.y * grid.z;
        const int helpers = (int)std::min<long long>((long long)workers_.size(), blocks - 1);
        {
            std::lock_guard lk(m_);
            active_ = helpers;
            wanted_ = helpers;
            ++generation_;
        }
        cv_.notify_all();
        work(blocks);
        std::unique_lock lk(m_);
        done_cv_.wait(lk, [&] { return active_ == 0; });
        return error_;
    }

private:
    struct job {
        const std::function<void()>* body = nullptr;
        dim3 grid, block;
        size_t smem = 0;
    };

    void work(long long blocks) {
        block_runner& r = runner_of_this_thread();
        if (!r.ok()) {
            record("cannot map fiber stacks");
            return;
        }
        for (;;) {
            const long long b = next_.fetch_add(1);
            if (b >= blocks) return;
            {
                std::lock_guard lk(err_m_);
                if (!error_.empty()) return;
            }
            const uint3 idx{(unsigned)(b % job_.grid.x), (unsigned)((b / job_.grid.x) % job_.grid.y),
                            (unsigned)(b / ((long long)job_.grid.x * job_.grid.y))};
            tls_runner = &r;
            std::string e = r.run_block(*job_.body, idx, job_.block, job_.grid, job_.smem, (b & 1) != 0);
            tls_runner = nullptr;
            if (!e.empty())
                record("block (" + std::to_string(idx.x) + "," + std::to_string(idx.y) + "," + std::to_string(idx.z) +
                       "): " + e);
        }
    }

    void record(const std::string& e) {
        std::lock_guard lk(err_m_);
        if (error_.empty()) error_ = e;
    }

    void worker_loop() {
        unsigned long long seen = 0;
        for (;;) {
            long long blocks;
            {
                std::unique_lock lk(m_);
                cv_.wait(lk, [&] { return stop_ || (generation_ != seen && wanted_ > 0); });
                if (stop_) return;
                seen = generation_;
                --wanted_;
                blocks = (long long)job_.grid.x * job_.grid.y * job_.grid.z;
            }
            work(blocks);
            {
                std::lock_guard lk(m_);
                --active_;
            }
            done_cv_.notify_all();
        }
    }

    std::vector<std::thread> workers_;
    std::mutex launch_m_, m_, err_m_;
    std::condition_variable cv_, done_cv_;
    bool stop_ = false;
    unsigned long long generation_ = 0;
    int active_ = 0, wanted_ = 0;
    job job_;
    std::atomic<long long> next_{0};
    std::string error_;
};

// The emulated device's multiprocessors. A forked child has none of the parent's threads, so it
// builds its own pool (the parent's copy is abandoned: destroying it would join threads that do not
// exist in the child).
grid_pool& pool() {
    static std::mutex m;
    static grid_pool* p = nullptr;
    static pid_t owner = 0;
    std::lock_guard lk(m);
    if (!p || owner != getpid()) {
        p = new grid_pool; // lives as long as the process
        owner = getpid();
    }
    return *p;
}

} // namespace

thread_context& current_thread() { return tls_runner->current(); }
int lane_id() { return tls_runner->lane(); }
void sync_block() { tls_runner->block_barrier(); }
void sync_warp(unsigned mask) { tls_runner->warp_exchange(mask, nullptr, 0, nullptr, 0); }
void exchange(unsigned mask, const void* value, int src_lane, void* out, size_t size) {
    tls_runner->warp_exchange(mask, value, src_lane, out, size);
}

cudaError_t bad_kernel_argument(int index, const void* p) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%p", p);
    return fail(cudaErrorInvalidDevicePointer, "kernel launch: argument " + std::to_string(index + 1) + " (" + buf +
                                                   ") is not device memory (a host pointer passed to a kernel?)");
}

bool device_accessible(const void* p, size_t bytes) { return memory_kind_of(p, bytes) != memory_kind::none; }

cudaError_t run_grid(const void* kernel, dim3 grid, dim3 block, size_t dynamic_smem, cudaStream_t stream,
                     const std::function<void()>& body) {
    const unsigned long long threads = (unsigned long long)block.x * block.y * block.z;
    if (grid.x == 0 || grid.y == 0 || grid.z == 0 || threads == 0 || grid.x > 2147483647u || grid.y > 65535u ||
        grid.z > 65535u || block.x > 1024u || block.y > 1024u || block.z > 64u || threads > (unsigned)max_block_threads)
        return fail(cudaErrorInvalidConfiguration,
                    "kernel launch: grid (" + std::to_string(grid.x) + "," + std::to_string(grid.y) + "," +
                        std::to_string(grid.z) + ") x block (" + std::to_string(block.x) + "," + std::to_string(block.y) +
                        "," + std::to_string(block.z) + ") is outside the device's limits");
    if (dynamic_smem > max_dynamic_smem(kernel))
        return fail(cudaErrorInvalidValue, "kernel launch: " + std::to_string(dynamic_smem) +
                                               " bytes of dynamic shared memory above the kernel's limit of " +
                                               std::to_string(max_dynamic_smem(kernel)) +
                                               " (above 48 KiB needs cudaFuncAttributeMaxDynamicSharedMemorySize)");
    if (!stream_is_valid(stream)) return fail(cudaErrorInvalidResourceHandle, "kernel launch: invalid stream");
    if (tls_runner) return fail(cudaErrorLaunchFailure, "kernel launch from inside a kernel (not supported)");
    const std::string e = pool().run(body, grid, block, dynamic_smem);
    if (!e.empty()) return fail(cudaErrorLaunchFailure, "kernel failed: " + e);
    return cudaSuccess;
}


} // namespace epic::cuda_emu
