#pragma once
// The service layer's one error convention: a call returns either its value or a failure whose
// message names the file (or object) and the problem, ready to show a user. Inside the runtime and
// storage layers errors are exceptions (epic::error and the types derived from it); the service
// turns them into a failed result (`guarded`) before anything crosses a thread, a Qt slot or the
// public API. Front ends that prefer exceptions (the CLI) call value(), which throws the message
// back as an epic::error.
#include "common/error.h"

#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace epic {

struct failure {
    std::string message;
};

template <class T>
class [[nodiscard]] result {
public:
    result(T value) : v_(std::move(value)) {}            // NOLINT: a value converts to a success
    result(failure f) : v_(std::move(f)) {}              // NOLINT: and a failure to a failure

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    // The failure's message; empty on success.
    const std::string& error() const {
        static const std::string none;
        return ok() ? none : std::get<1>(v_).message;
    }
    // The value; throws epic::error(message) when the call failed.
    T& value() & { check(); return std::get<0>(v_); }
    const T& value() const& { check(); return std::get<0>(v_); }
    // By value from a temporary result, so that `for (auto& x : f().value())` and
    // `const auto& x = f().value();` hold the value and not a reference into a destroyed result.
    T value() && { check(); return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    // The value, or `fallback` when the call failed.
    T value_or(T fallback) const& { return ok() ? std::get<0>(v_) : std::move(fallback); }

private:
    void check() const {
        if (!ok()) throw epic::error(std::get<1>(v_).message);
    }
    std::variant<T, failure> v_;
};

// A call with nothing to return but success or its failure.
template <>
class [[nodiscard]] result<void> {
public:
    result() = default;
    result(failure f) : f_(std::move(f)) {} // NOLINT
    bool ok() const { return !f_; }
    explicit operator bool() const { return ok(); }
    const std::string& error() const {
        static const std::string none;
        return f_ ? f_->message : none;
    }
    void value() const {
        if (f_) throw epic::error(f_->message);
    }

private:
    std::optional<failure> f_;
};

// Runs `body` and returns its value as a success, or any exception it throws as a failure with the
// exception's message: the one place the service catches what the layers below throw.
template <class F>
auto guarded(F&& body) -> result<std::invoke_result_t<F&>> {
    try {
        if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
            body();
            return {};
        } else {
            return body();
        }
    } catch (const std::exception& e) {
        return failure{e.what()};
    }
}

} // namespace epic
