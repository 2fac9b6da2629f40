// The emulated runtime: one device whose memory is host memory with a map of allocations, streams
// and events that complete at once, per-thread last error, kernel attributes.
#include "emu_device.h"
#include "emu_state.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

struct CUstream_st {
    unsigned flags = 0;
};
struct CUevent_st {
    unsigned flags = 0;
    bool recorded = false;
    std::chrono::steady_clock::time_point when{};
};

namespace epic::cuda_emu {
namespace {

constexpr size_t default_smem_limit = 48u << 10;
constexpr size_t optin_smem_limit = 227u << 10; // Hopper's opt-in maximum per block

size_t env_size(const char* name, size_t fallback) {
    const char* v = std::getenv(name);
    if (!v || !*v) return fallback;
    char* end = nullptr;
    const unsigned long long x = std::strtoull(v, &end, 10);
    return end && *end == '\0' ? (size_t)x : fallback;
}

struct allocation {
    size_t bytes;
    memory_kind kind;
};

// The emulated machine: lives as long as the process (like a driver's state).
struct machine {
    std::mutex m;
    std::map<uintptr_t, allocation> allocations; // by start address
    size_t device_used = 0;
    size_t device_capacity = env_size("EPIC_CUDA_EMU_MEMORY_MIB", 8192) << 20;
    int devices = (int)env_size("EPIC_CUDA_EMU_DEVICES", 1);
    std::set<const CUstream_st*> streams;
    std::set<const CUevent_st*> events;
    std::unordered_map<const void*, int> smem_optin; // kernel -> max dynamic shared memory
    std::string diagnostic;
};

machine& emu() {
    static machine m;
    return m;
}

thread_local cudaError_t tls_last_error = cudaSuccess;
thread_local int tls_device = 0;

// Caller holds emu().m.
const allocation* find_allocation(const void* p, size_t bytes, uintptr_t* base) {
    auto& a = emu().allocations;
    const auto addr = reinterpret_cast<uintptr_t>(p);
    auto it = a.upper_bound(addr);
    if (it == a.begin()) return nullptr;
    --it;
    if (addr < it->first || addr + bytes > it->first + std::max<size_t>(it->second.bytes, 1)) return nullptr;
    if (base) *base = it->first;
    return &it->second;
}

std::string hex(const void* p) {
    char b[32];
    std::snprintf(b, sizeof b, "%p", p);
    return b;
}

cudaError_t check_device() {
    if (emu().devices <= 0) return fail(cudaErrorNoDevice, "no CUDA-capable device is detected (EPIC_CUDA_EMU_DEVICES=0)");
    return cudaSuccess;
}

} // namespace

memory_kind memory_kind_of(const void* p, size_t bytes) {
    std::lock_guard lk(emu().m);
    const allocation* a = find_allocation(p, bytes, nullptr);
    return a ? a->kind : memory_kind::none;
}

bool stream_is_valid(cudaStream_t s) {
    if (!s) return true;
    std::lock_guard lk(emu().m);
    return emu().streams.count(s) != 0;
}

void set_last_error(cudaError_t e) {
    if (e != cudaSuccess) tls_last_error = e;
}

cudaError_t fail(cudaError_t e, const std::string& why) {
    {
        std::lock_guard lk(emu().m);
        emu().diagnostic = why;
    }
    if (std::getenv("EPIC_CUDA_EMU_QUIET") == nullptr) std::fprintf(stderr, "[cuda-emu] %s\n", why.c_str());
    set_last_error(e);
    return e;
}

std::string last_diagnostic() {
    std::lock_guard lk(emu().m);
    return emu().diagnostic;
}

size_t max_dynamic_smem(const void* kernel) {
    std::lock_guard lk(emu().m);
    auto it = emu().smem_optin.find(kernel);
    return it == emu().smem_optin.end() ? default_smem_limit : std::max<size_t>(default_smem_limit, (size_t)it->second);
}

cudaError_t func_get_attributes(cudaFuncAttributes* attr, const void* kernel) {
    if (!attr || !kernel) return fail(cudaErrorInvalidValue, "cudaFuncGetAttributes: null argument");
    std::memset(attr, 0, sizeof *attr);
    attr->maxThreadsPerBlock = 1024;
    attr->maxDynamicSharedSizeBytes = (int)max_dynamic_smem(kernel);
    attr->ptxVersion = 90;
    attr->binaryVersion = 90;
    return cudaSuccess;
}

cudaError_t func_set_attribute(const void* kernel, cudaFuncAttribute attr, int value) {
    if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize)
        return fail(cudaErrorInvalidValue, "cudaFuncSetAttribute: attribute not emulated");
    if (value < 0 || (size_t)value > optin_smem_limit)
        return fail(cudaErrorInvalidValue, "cudaFuncSetAttribute: " + std::to_string(value) +
                                               " bytes of dynamic shared memory exceed the device's " +
                                               std::to_string(optin_smem_limit));
    std::lock_guard lk(emu().m);
    emu().smem_optin[kernel] = value;
    return cudaSuccess;
}

} // namespace epic::cuda_emu

using namespace epic::cuda_emu;

cudaError_t cudaGetDeviceCount(int* count) {
    if (!count) return fail(cudaErrorInvalidValue, "cudaGetDeviceCount: null");
    *count = 0;
    if (cudaError_t e = check_device(); e != cudaSuccess) return e;
    *count = emu().devices;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
    if (cudaError_t e = check_device(); e != cudaSuccess) return e;
    if (device < 0 || device >= emu().devices) return fail(cudaErrorInvalidDevice, "cudaSetDevice: no device " + std::to_string(device));
    tls_device = device;
    return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
    if (cudaError_t e = check_device(); e != cudaSuccess) return e;
    *device = tls_device;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
    if (cudaError_t e = check_device(); e != cudaSuccess) return e;
    if (!prop || device < 0 || device >= emu().devices) return fail(cudaErrorInvalidDevice, "cudaGetDeviceProperties: bad device");
    std::memset(prop, 0, sizeof *prop);
    std::snprintf(prop->name, sizeof prop->name, "EPIC CUDA emulator (CPU)");
    prop->totalGlobalMem = emu().device_capacity;
    prop->sharedMemPerBlock = default_smem_limit;
    prop->sharedMemPerBlockOptin = optin_smem_limit;
    prop->warpSize = 32;
    prop->maxThreadsPerBlock = 1024;
    // Few multiprocessors, so that small test problems already take the split-K decode paths.
    prop->multiProcessorCount = 8;
    prop->major = 9;
    prop->minor = 0;
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return check_device(); }

cudaError_t cudaGetLastError() {
    const cudaError_t e = tls_last_error;
    tls_last_error = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError() { return tls_last_error; }

const char* cudaGetErrorName(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError: return "cudaErrorInitializationError";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorNoKernelImageForDevice: return "cudaErrorNoKernelImageForDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    }
    return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorNoKernelImageForDevice: return "no kernel image is available for execution on the device";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorLaunchFailure: return "unspecified launch failure (see the [cuda-emu] message)";
    }
    return "unknown error";
}

namespace {

cudaError_t allocate(void** ptr, size_t bytes, memory_kind kind, const char* api) {
    if (!ptr) return fail(cudaErrorInvalidValue, std::string(api) + ": null result pointer");
    *ptr = nullptr;
    if (cudaError_t e = check_device(); e != cudaSuccess) return e;
    const size_t rounded = (std::max<size_t>(bytes, 1) + 255) & ~(size_t)255;
    {
        std::lock_guard lk(emu().m);
        if (kind == memory_kind::device && emu().device_used + rounded > emu().device_capacity) {
            emu().diagnostic = std::string(api) + ": out of emulated device memory";
            tls_last_error = cudaErrorMemoryAllocation;
            return cudaErrorMemoryAllocation;
        }
    }
    void* p = std::aligned_alloc(256, rounded);
    if (!p) return fail(cudaErrorMemoryAllocation, std::string(api) + ": host allocation failed");
    // Fresh device memory reads as NaN (0xff bytes), so a result computed from unwritten memory shows.
    if (kind == memory_kind::device) std::memset(p, 0xff, rounded);
    std::lock_guard lk(emu().m);
    emu().allocations[reinterpret_cast<uintptr_t>(p)] = allocation{bytes, kind};
    if (kind == memory_kind::device) emu().device_used += rounded;
    *ptr = p;
    return cudaSuccess;
}

cudaError_t release(void* ptr, memory_kind kind, const char* api) {
    if (!ptr) return cudaSuccess;
    {
        std::lock_guard lk(emu().m);
        auto it = emu().allocations.find(reinterpret_cast<uintptr_t>(ptr));
        if (it == emu().allocations.end() || it->second.kind != kind) {
            emu().diagnostic = std::string(api) + ": " + hex(ptr) + " is not the start of such an allocation";
            tls_last_error = cudaErrorInvalidValue;
            std::fprintf(stderr, "[cuda-emu] %s\n", emu().diagnostic.c_str());
            return cudaErrorInvalidValue;
        }
        if (kind == memory_kind::device) emu().device_used -= (std::max<size_t>(it->second.bytes, 1) + 255) & ~(size_t)255;
        emu().allocations.erase(it);
    }
    std::free(ptr);
    return cudaSuccess;
}

const char* kind_text(memory_kind k) {
    switch (k) {
    case memory_kind::device: return "device memory";
    case memory_kind::pinned_host: return "page-locked host memory";
    case memory_kind::none: break;
    }
    return "pageable host memory (or outside any allocation)";
}

// Checks a copy's ranges against its direction, as the driver would (and more: ranges must lie
// inside one allocation).
cudaError_t check_copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, const char* api) {
    if (bytes == 0) return cudaSuccess;
    if (!dst || !src) return fail(cudaErrorInvalidValue, std::string(api) + ": null pointer");
    const memory_kind d = memory_kind_of(dst, bytes), s = memory_kind_of(src, bytes);
    bool ok = true;
    switch (kind) {
    case cudaMemcpyHostToDevice: ok = d == memory_kind::device && s != memory_kind::device; break;
    case cudaMemcpyDeviceToHost: ok = s == memory_kind::device && d != memory_kind::device; break;
    case cudaMemcpyDeviceToDevice: ok = s == memory_kind::device && d == memory_kind::device; break;
    case cudaMemcpyHostToHost: ok = d != memory_kind::device && s != memory_kind::device; break;
    case cudaMemcpyDefault: break;
    default: return fail(cudaErrorInvalidMemcpyDirection, std::string(api) + ": unknown direction");
    }
    if (!ok)
        return fail(cudaErrorInvalidValue, std::string(api) + " of " + std::to_string(bytes) + " bytes (kind " +
                                               std::to_string((int)kind) + "): destination " + hex(dst) + " is " +
                                               kind_text(d) + ", source " + hex(src) + " is " + kind_text(s));
    return cudaSuccess;
}

} // namespace

cudaError_t cudaMalloc(void** ptr, size_t bytes) { return allocate(ptr, bytes, memory_kind::device, "cudaMalloc"); }
cudaError_t cudaFree(void* ptr) {
    if (cudaError_t e = check_device(); e != cudaSuccess) return e;
    return release(ptr, memory_kind::device, "cudaFree");
}
cudaError_t cudaMallocHost(void** ptr, size_t bytes) { return allocate(ptr, bytes, memory_kind::pinned_host, "cudaMallocHost"); }
cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned) { return allocate(ptr, bytes, memory_kind::pinned_host, "cudaHostAlloc"); }
cudaError_t cudaFreeHost(void* ptr) { return release(ptr, memory_kind::pinned_host, "cudaFreeHost"); }

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
    if (cudaError_t e = check_device(); e != cudaSuccess) return e;
    std::lock_guard lk(emu().m);
    if (free_bytes) *free_bytes = emu().device_capacity - emu().device_used;
    if (total_bytes) *total_bytes = emu().device_capacity;
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
    if (!stream_is_valid(stream)) return fail(cudaErrorInvalidResourceHandle, "cudaMemcpyAsync: invalid stream");
    if (cudaError_t e = check_copy(dst, src, bytes, kind, "cudaMemcpyAsync"); e != cudaSuccess) return e;
    if (bytes) std::memmove(dst, src, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
    return cudaMemcpyAsync(dst, src, bytes, kind, nullptr);
}

cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t stream) {
    if (!stream_is_valid(stream)) return fail(cudaErrorInvalidResourceHandle, "cudaMemsetAsync: invalid stream");
    if (bytes == 0) return cudaSuccess;
    if (memory_kind_of(ptr, bytes) != memory_kind::device)
        return fail(cudaErrorInvalidValue, "cudaMemsetAsync of " + std::to_string(bytes) + " bytes at " + hex(ptr) +
                                               ": not inside one device allocation");
    std::memset(ptr, value, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemset(void* ptr, int value, size_t bytes) { return cudaMemsetAsync(ptr, value, bytes, nullptr); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags) {
    if (cudaError_t e = check_device(); e != cudaSuccess) return e;
    if (!stream) return fail(cudaErrorInvalidValue, "cudaStreamCreate: null");
    auto* s = new CUstream_st{flags};
    std::lock_guard lk(emu().m);
    emu().streams.insert(s);
    *stream = s;
    return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
    {
        std::lock_guard lk(emu().m);
        if (!stream || !emu().streams.erase(stream)) {
            emu().diagnostic = "cudaStreamDestroy: invalid stream";
            tls_last_error = cudaErrorInvalidResourceHandle;
            return cudaErrorInvalidResourceHandle;
        }
    }
    delete stream;
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
    if (!stream_is_valid(stream)) return fail(cudaErrorInvalidResourceHandle, "cudaStreamSynchronize: invalid stream");
    return cudaSuccess;
}

cudaError_t cudaStreamQuery(cudaStream_t stream) { return cudaStreamSynchronize(stream); }

namespace {
bool event_is_valid(cudaEvent_t ev) {
    std::lock_guard lk(emu().m);
    return ev && emu().events.count(ev) != 0;
}
} // namespace

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned) {
    if (!stream_is_valid(stream) || !event_is_valid(event))
        return fail(cudaErrorInvalidResourceHandle, "cudaStreamWaitEvent: invalid stream or event");
    return cudaSuccess;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags) {
    if (cudaError_t e = check_device(); e != cudaSuccess) return e;
    if (!event) return fail(cudaErrorInvalidValue, "cudaEventCreate: null");
    auto* ev = new CUevent_st{flags};
    std::lock_guard lk(emu().m);
    emu().events.insert(ev);
    *event = ev;
    return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }

cudaError_t cudaEventDestroy(cudaEvent_t event) {
    {
        std::lock_guard lk(emu().m);
        if (!event || !emu().events.erase(event)) {
            emu().diagnostic = "cudaEventDestroy: invalid event";
            tls_last_error = cudaErrorInvalidResourceHandle;
            return cudaErrorInvalidResourceHandle;
        }
    }
    delete event;
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
    if (!event_is_valid(event) || !stream_is_valid(stream))
        return fail(cudaErrorInvalidResourceHandle, "cudaEventRecord: invalid event or stream");
    event->recorded = true;
    event->when = std::chrono::steady_clock::now();
    return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
    if (!event_is_valid(event)) return fail(cudaErrorInvalidResourceHandle, "cudaEventSynchronize: invalid event");
    return cudaSuccess;
}

cudaError_t cudaEventQuery(cudaEvent_t event) { return cudaEventSynchronize(event); }

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
    if (!ms || !event_is_valid(start) || !event_is_valid(end))
        return fail(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime: invalid event");
    if ((start->flags | end->flags) & cudaEventDisableTiming)
        return fail(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime: an event was created with cudaEventDisableTiming");
    if (!start->recorded || !end->recorded) return fail(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime: event not recorded");
    *ms = std::chrono::duration<float, std::milli>(end->when - start->when).count();
    return cudaSuccess;
}
