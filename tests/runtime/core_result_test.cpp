// The service layer's error convention (core/result.h): a result holds its value or a failure's
// message; value() gives the value or throws the message as an epic::error; guarded() turns any
// exception of the layers below into a failure.
#include "common/error.h"
#include "core/result.h"
#include "storage_error.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <string>
#include <vector>

namespace epic {
namespace {

std::string thrown_by(const std::function<void()>& f) {
    try {
        f();
    } catch (const error& e) {
        return e.what();
    }
    return "(nothing thrown)";
}

TEST(result, holds_a_value_or_a_failure_and_value_throws_the_failure) {
    result<int> ok = 42;
    EXPECT_TRUE(ok.ok());
    EXPECT_TRUE(ok.error().empty());
    EXPECT_EQ(ok.value(), 42);
    EXPECT_EQ(*ok, 42);

    result<int> bad = failure{"library.db: disk I/O error"};
    EXPECT_FALSE(bad.ok());
    EXPECT_FALSE(bad);
    EXPECT_EQ(bad.error(), "library.db: disk I/O error");
    EXPECT_EQ(bad.value_or(7), 7);
    EXPECT_EQ(thrown_by([&] { (void)bad.value(); }), "library.db: disk I/O error");

    result<void> done;
    EXPECT_TRUE(done.ok());
    EXPECT_NO_THROW(done.value());
    result<void> refused = failure{"no cache entry abc"};
    EXPECT_EQ(refused.error(), "no cache entry abc");
    EXPECT_EQ(thrown_by([&] { refused.value(); }), "no cache entry abc");

    // Move-only values (the service itself) pass through.
    result<std::unique_ptr<int>> owned = std::make_unique<int>(5);
    std::unique_ptr<int> taken = std::move(owned).value();
    ASSERT_TRUE(taken);
    EXPECT_EQ(*taken, 5);
}

TEST(result, guarded_turns_every_exception_of_the_layers_below_into_a_failure) {
    const auto stored = guarded([] { return std::string("kept"); });
    EXPECT_EQ(stored.value(), "kept");
    // storage_error derives from epic::error: one base, one catch.
    static_assert(std::is_base_of_v<error, storage_error>);
    const auto disk = guarded([]() -> int { throw storage_error("kv/ab/cd.epkv: No space left on device"); });
    EXPECT_EQ(disk.error(), "kv/ab/cd.epkv: No space left on device");
    const auto runtime = guarded([]() -> int { throw error("model.gguf: truncated"); });
    EXPECT_EQ(runtime.error(), "model.gguf: truncated");
    const auto other = guarded([]() -> int { throw std::out_of_range("vector::at"); });
    EXPECT_EQ(other.error(), "vector::at");
    int ran = 0;
    const auto nothing = guarded([&] { ++ran; });
    EXPECT_TRUE(nothing.ok());
    EXPECT_EQ(ran, 1);
    const auto refused = guarded([] { throw error("no document with id 9"); });
    EXPECT_EQ(refused.error(), "no document with id 9");
}

TEST(result, the_value_of_a_temporary_result_outlives_the_result) {
    // A range-for over f().value() must iterate a living vector: value() on a temporary returns the
    // value itself, not a reference into the destroyed result.
    auto make = [] { return result<std::vector<std::string>>(std::vector<std::string>{"a", std::string(100, 'b'), "c"}); };
    std::string joined;
    for (const auto& s : make().value()) joined += s.substr(0, 1);
    EXPECT_EQ(joined, "abc");
    const auto& held = make().value();
    EXPECT_EQ(held.size(), 3u);
    EXPECT_EQ(held[1], std::string(100, 'b'));
}

} // namespace
} // namespace epic
