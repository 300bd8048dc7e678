#pragma once
/// tests/e2e/process.hpp — runs a program the way a user would, capturing stdout, stderr and
/// the exit status (no shell in between, so arguments reach it verbatim).
#include <string>
#include <vector>

namespace consentrig::testing {

struct ProcessResult {
    int exit_code = -1;  ///< -1 when killed by a signal
    std::string out;
    std::string err;
};

/// `env` entries (`NAME=value`) are added to this process's environment for the child.
[[nodiscard]] ProcessResult run_process(const std::vector<std::string>& argv, const std::string& cwd = {},
                                        const std::vector<std::string>& env = {});

/// Path of a program built by this tree (build/<preset>/bin/<name>).
[[nodiscard]] std::string built_program(const std::string& name);

}  // namespace consentrig::testing
