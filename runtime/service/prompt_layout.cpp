#include "service/prompt_layout.h"

namespace epic {

std::string question_segment_text(const std::string& question) { return "\nQuestion: " + question + "\nAnswer:"; }

} // namespace epic
