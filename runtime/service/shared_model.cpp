#include "service/shared_model.h"

#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace epic {

std::shared_ptr<shared_model> shared_model::load(const std::string& path, const backend_params& bp, working_set ws) {
    std::shared_ptr<shared_model> m(new shared_model());
    m->model_ = model::load(path);
    m->tokenizer_ = tokenizer::from_gguf(m->model_->file());
    m->backend_ = create_backend(bp);
    m->backend_name_ = m->backend_->name();
    m->transformer_ = std::make_unique<transformer>(*m->model_, *m->backend_, ws);
    return m;
}

// Members go in reverse order: the transformer's device weights before the backend that owns the memory.
shared_model::~shared_model() = default;

void shared_model::acquire() {
    std::unique_lock lock(mutex_);
    const uint64_t ticket = next_ticket_++;
    turn_changed_.wait(lock, [&] { return serving_ == ticket; });
}

void shared_model::release() {
    {
        std::lock_guard lock(mutex_);
        ++serving_;
    }
    turn_changed_.notify_all();
}

uint64_t shared_model::turns_requested() const {
    std::lock_guard lock(mutex_);
    return next_ticket_;
}

shared_model::turn::turn(shared_model& m) : m_(m) { m_.acquire(); }
shared_model::turn::~turn() { m_.release(); }

void shared_model::turn::yield() {
    // Releasing then drawing a new ticket puts this caller behind everyone who was already waiting.
    m_.release();
    m_.acquire();
}

} // namespace epic
