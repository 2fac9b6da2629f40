#pragma once
// Runs a shell command line as a user would (real process, real files) and collects what it printed:
// the tests of the `epic` command and of the installer scripts.
#include <string>

namespace epic::test {

struct command_result {
    int code = -1;    // exit status; -1 when it did not exit normally
    std::string out;  // stdout, and stderr where the command line redirects it (2>&1)
};

command_result run_command(const std::string& command_line);

} // namespace epic::test
