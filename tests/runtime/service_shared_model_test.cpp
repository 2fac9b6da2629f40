// Two services sharing one loaded model (what the GUI's chat and ingest workers do): the model file is
// mapped once, an add on one thread and answers on another run at the same time and interleave, and
// the answers are the ones a service with its own model gives. Turns are first come, first served.
#include "model/random_model.h"
#include "service/service.h"
#include "service/shared_model.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

namespace epic {
namespace {

namespace fs = std::filesystem;

// Mappings of `path` in this process (/proc/self/maps): one per loaded copy of a GGUF.
int mappings_of(const std::string& path) {
    std::ifstream maps("/proc/self/maps");
    const std::string canonical = fs::canonical(path).string();
    int n = 0;
    for (std::string line; std::getline(maps, line);)
        if (line.size() >= canonical.size() && line.compare(line.size() - canonical.size(), canonical.size(), canonical) == 0) ++n;
    return n;
}

void make_documents(const fs::path& dir, int n, int first = 0) {
    std::mt19937 rng(7 + first);
    const char* words[] = {"river", "mountain", "lantern", "harbor", "violin", "orchard", "glacier", "meadow", "copper", "falcon"};
    for (int i = first; i < first + n; ++i) {
        std::string text;
        for (int w = 0; w < 120; ++w) text += std::string(words[rng() % 10]) + (w % 7 == 6 ? ". " : " ");
        text += "\nDocument " + std::to_string(i) + " mentions zebra" + std::to_string(i) + ".\n";
        fs::create_directories(dir);
        std::ofstream(dir / ("doc" + std::to_string(i) + ".txt")) << text;
    }
}

class service_shared_model : public ::testing::Test {
protected:
    void SetUp() override {
        random_model_params p = random_model_default_params();
        p.n_ctx = 4096;
        model_path_ = (dir_ / "model.gguf").string();
        write_random_model(model_path_, p);
        make_documents(dir_ / "docs", 4);
        make_documents(dir_ / "more", 12, 100);
    }
    service_params params(std::shared_ptr<shared_model> loaded = nullptr) const {
        service_params sp = service_default_params();
        sp.library_dir = dir_ / "library";
        sp.model_path = model_path_;
        sp.loaded_model = std::move(loaded);
        sp.chunk_tokens = 64;
        sp.backend.device = "cpu";
        sp.backend.n_threads = 2;
        return sp;
    }
    std::unique_ptr<service> open(std::shared_ptr<shared_model> loaded = nullptr) const {
        auto s = service::open(params(std::move(loaded)));
        EXPECT_TRUE(s.ok()) << s.error();
        return s ? std::move(s.value()) : nullptr;
    }
    static ask_options options() {
        ask_options o;
        o.top_n = 3;
        o.generation.max_tokens = 24;
        o.generation.sampling.temperature = 0.0f;
        o.generation.stop_at_eos = false;
        return o;
    }

    test::scratch_dir dir_;
    std::string model_path_;
};

TEST_F(service_shared_model, a_second_service_on_the_loaded_model_maps_the_file_once) {
    auto first = open();
    ASSERT_TRUE(first && first->has_model());
    EXPECT_EQ(mappings_of(model_path_), 1);
    auto second = open(first->loaded_model());
    ASSERT_TRUE(second && second->has_model());
    EXPECT_EQ(mappings_of(model_path_), 1) << "the second service must not load the model again";
    EXPECT_EQ(second->get_model(), first->get_model());
    EXPECT_EQ(second->backend_name(), first->backend_name());
    EXPECT_EQ(second->backend_name().rfind("cpu (2 threads)", 0), 0u) << second->backend_name();
    // Without sharing, a second service maps its own copy (what the GUI did before).
    auto own = open();
    EXPECT_EQ(mappings_of(model_path_), 2);
    own.reset();
    first.reset();
    EXPECT_EQ(mappings_of(model_path_), 1) << "the model lives while a service uses it";
    second.reset();
    EXPECT_EQ(mappings_of(model_path_), 0);
}

TEST_F(service_shared_model, an_add_and_answers_on_two_threads_interleave_and_answer_as_alone) {
    auto chat = open();
    ASSERT_TRUE(chat->add({dir_ / "docs"}).ok()); // something to answer from while the rest comes in
    auto ingest = open(chat->loaded_model());
    const uint64_t turns_before = chat->loaded_model()->turns_requested();

    std::atomic<bool> adding{true};
    std::atomic<int> answers_during_add{0};
    add_report rep;
    std::thread add_thread([&] {
        rep = ingest->add({dir_ / "more"}).value();
        adding = false;
    });
    int answers = 0;
    std::vector<std::string> got;
    while (adding || answers == 0) {
        const ask_result r = chat->ask("Which document mentions zebra2?", options()).value();
        got.push_back(r.answer);
        ++answers;
        if (adding) ++answers_during_add;
    }
    add_thread.join();
    EXPECT_EQ(rep.added, 12u);
    EXPECT_GT(rep.chunks_compiled, 12u);
    EXPECT_GT(answers_during_add.load(), 0) << "answers must not wait for the whole add";
    // Over the finished library, the shared model answers exactly as a service with its own model.
    const ask_result shared_answer = chat->ask("Which document mentions zebra2?", options()).value();
    auto alone = open();
    const ask_result own_answer = alone->ask("Which document mentions zebra2?", options()).value();
    EXPECT_EQ(shared_answer.answer, own_answer.answer);
    EXPECT_GT(chat->loaded_model()->turns_requested() - turns_before, rep.chunks_compiled)
        << "a turn per compiled chunk and per answer token";
    std::printf("%d answers, %d of them while %zu chunks compiled on the other thread\n", answers, answers_during_add.load(),
                rep.chunks_compiled);
}

TEST_F(service_shared_model, turns_are_first_come_first_served_and_yield_lets_waiters_go_first) {
    auto s = open();
    const auto m = s->loaded_model();
    std::vector<int> order;
    std::mutex order_mutex;
    auto note = [&](int who) {
        std::lock_guard l(order_mutex);
        order.push_back(who);
    };
    std::optional<shared_model::turn> mine(std::in_place, *m);
    std::thread waiter([&] {
        shared_model::turn t(*m);
        note(2);
    });
    while (m->turns_requested() < 2) std::this_thread::yield(); // the waiter drew its ticket
    note(1);
    mine->yield(); // the waiter runs now, then this caller again
    note(3);
    mine.reset();
    waiter.join();
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

} // namespace
} // namespace epic
