#pragma once
// The runtime's one way to read a whole file it is handed (tokenizer.model files, prompts, question
// sets, JSON): through storage::regular_file, so a FIFO or device in place of the file is refused
// instead of blocking forever. Errors are epic::error naming the file.
#include <string>

namespace epic {

std::string read_file_text(const std::string& path);

} // namespace epic
