#pragma once
// Turns a stream of token byte strings into complete UTF-8 pieces: a multi-byte character split over
// byte-fallback tokens is held back until its last byte arrives.
#include <string>
#include <string_view>

namespace epic {

class utf8_stream {
public:
    // Appends bytes; returns the longest prefix of pending text that ends on a character boundary.
    std::string push(std::string_view bytes);
    // Whatever is still pending (an incomplete sequence at the end of generation), as-is.
    std::string flush();

private:
    std::string pending_;
};

} // namespace epic
