#pragma once
// Device and pinned host memory owned through RAII objects (the backend's buffers and the
// device_buffer objects it hands out).
#include "backend/backend.h"
#include "backend/memory_budget.h" // format_gib

#include <cstddef>
#include <string>

namespace epic {

// Device memory from cudaMalloc, freed with the object. Allocation failure throws epic::error
// with the size asked for and the memory free at that moment.
class cuda_buffer final : public device_buffer {
public:
    explicit cuda_buffer(size_t bytes, const std::string& what = "buffer");
    ~cuda_buffer() override;
    cuda_buffer(const cuda_buffer&) = delete;
    cuda_buffer& operator=(const cuda_buffer&) = delete;
    void* data() override { return data_; }
    const void* data() const { return data_; }
    size_t size() const override { return bytes_; }

private:
    void* data_ = nullptr;
    size_t bytes_ = 0;
};

// Page-locked host memory (cudaMallocHost): the target of small asynchronous downloads and the
// staging memory of asynchronous uploads (backend::alloc_host_staging). data() is a host pointer.
class pinned_buffer final : public device_buffer {
public:
    explicit pinned_buffer(size_t bytes);
    ~pinned_buffer() override;
    pinned_buffer(const pinned_buffer&) = delete;
    pinned_buffer& operator=(const pinned_buffer&) = delete;
    void* data() override { return data_; }
    size_t size() const override { return bytes_; }

private:
    void* data_ = nullptr;
    size_t bytes_ = 0;
};

// A device buffer that grows on demand (workspaces: f16 activations, attention partials, staging).
// Growing frees the old contents; callers use it as scratch only.
class cuda_workspace {
public:
    explicit cuda_workspace(std::string what) : what_(std::move(what)) {}
    void* get(size_t bytes);
    size_t size() const { return buf_ ? buf_->size() : 0; }

private:
    std::string what_;
    std::unique_ptr<cuda_buffer> buf_;
};

std::string format_mib(size_t bytes);

} // namespace epic
