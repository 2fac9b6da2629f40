// Which sources an answer drew on (service/answer_support.h), on the sample library's own files.
#include "service/answer_support.h"

#include "core/read_file.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace epic {
namespace {

std::string sample(const std::string& rel) { return read_file_text(std::string(EPIC_SOURCE_DIR) + "/resources/sample-library/" + rel); }

TEST(answer_support, the_person_the_answer_names_is_marked_and_the_others_are_not) {
    // Three people files of one template: every name, role and hobby is in one file only.
    const std::vector<std::string> files = {sample("people/aiko-tanaka.txt"), sample("people/marta-lindqvist.txt"),
                                            sample("people/leila-haddad.txt")};
    const std::vector<std::string_view> texts(files.begin(), files.end());
    const auto s = answer_support_of("What does the head of the firm do to relax?",
                                     "Marta Lindqvist's favourite pastime is sea kayaking.", texts);
    ASSERT_EQ(s.size(), 3u);
    EXPECT_FALSE(s[0].used);
    EXPECT_TRUE(s[1].used);
    EXPECT_FALSE(s[2].used);
    // "marta", "lindqvist", "sea", "kayaking" tell Marta's file apart; "favourite", "pastime", "is"
    // are in every file and count for none.
    EXPECT_EQ(s[1].words, 4);
    EXPECT_EQ(s[0].words, 0);
}

TEST(answer_support, words_of_the_question_or_of_every_chunk_mark_nothing) {
    const std::vector<std::string> files = {sample("people/aiko-tanaka.txt"), sample("people/leila-haddad.txt")};
    const std::vector<std::string_view> texts(files.begin(), files.end());
    // "Aiko" is the question's word, "Tidewater Instruments" every file's: the answer tells nothing apart.
    for (const auto& x : answer_support_of("Where does Aiko work?", "Aiko works at Tidewater Instruments.", texts)) {
        EXPECT_FALSE(x.used);
        EXPECT_EQ(x.words, 0);
    }
    // An answer from two chunks marks both: within half of the best count.
    const auto two = answer_support_of("Who are they?", "Aiko Tanaka does quality assurance; Leila Haddad heads customer support.", texts);
    EXPECT_TRUE(two[0].used);
    EXPECT_TRUE(two[1].used);
    // A single chunk: any of the answer's words it holds beyond the question's marks it.
    const std::vector<std::string_view> one = {texts[0]};
    EXPECT_TRUE(answer_support_of("Aiko?", "bonsai", one)[0].used);
    EXPECT_FALSE(answer_support_of("Aiko?", "I do not know", one)[0].used);
    EXPECT_TRUE(answer_support_of("q", "a", {}).empty());
}

} // namespace
} // namespace epic
