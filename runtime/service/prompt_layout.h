#pragma once
// The text of the question segment (after the retrieved chunks). Chat templates per model family
// replace this later; for now a plain "Question: ... Answer:" layout that base models follow.
#include <string>

namespace epic {

std::string question_segment_text(const std::string& question);

} // namespace epic
