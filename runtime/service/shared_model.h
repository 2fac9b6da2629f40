#pragma once
// One loaded model (mapped weights, tokenizer, backend, transformer) that several services on different
// threads use, so its weights are loaded, and on the CUDA backend uploaded, once: the GUI's chat and
// ingest workers share one. The transformer and the backend serve one caller at a time, so every use of
// them holds a turn. Turns are granted first come, first served, and an answer gives its turn back
// between tokens, so an add (a turn per chunk) and a streaming answer interleave instead of one waiting
// for the other to finish.
#include "backend/backend.h"
#include "forward/transformer.h"

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace epic {

class model;
class tokenizer;

class shared_model {
public:
    // Maps the GGUF, builds its tokenizer and backend, and prepares the weights once the backend
    // confirmed they fit with the working set (backend::check_fits). Throws epic::error naming the file.
    static std::shared_ptr<shared_model> load(const std::string& path, const backend_params& bp, working_set ws = {});
    ~shared_model();
    shared_model(const shared_model&) = delete;
    shared_model& operator=(const shared_model&) = delete;

    // Read-only and safe from any thread.
    const model& get_model() const { return *model_; }
    const tokenizer& get_tokenizer() const { return *tokenizer_; }
    const std::string& backend_name() const { return backend_name_; }
    // Only while holding a turn.
    transformer& get_transformer() { return *transformer_; }

    // Holds the model for the caller from construction to destruction.
    class turn {
    public:
        explicit turn(shared_model& m); // waits until every earlier caller is done
        ~turn();
        turn(const turn&) = delete;
        turn& operator=(const turn&) = delete;
        // Lets everyone already waiting go first, then waits for the turn again (between tokens).
        void yield();

    private:
        shared_model& m_;
    };

    // Callers that asked for a turn and were granted it or are waiting (for tests and diagnostics).
    uint64_t turns_requested() const;

private:
    shared_model() = default;
    void acquire();
    void release();

    std::unique_ptr<model> model_;
    std::unique_ptr<tokenizer> tokenizer_;
    std::unique_ptr<backend> backend_;
    std::unique_ptr<transformer> transformer_;
    std::string backend_name_;

    // A ticket lock: the turn goes to tickets in the order they were drawn.
    mutable std::mutex mutex_;
    std::condition_variable turn_changed_;
    uint64_t next_ticket_ = 0;
    uint64_t serving_ = 0;
};

} // namespace epic
