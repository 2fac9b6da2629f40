#include "support/run_command.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>

namespace epic::test {

command_result run_command(const std::string& command_line) {
    command_result r;
    FILE* p = ::popen(command_line.c_str(), "r");
    if (!p) return r;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
    const int status = ::pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

} // namespace epic::test
