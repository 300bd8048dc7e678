#pragma once
/// apps/consentrig — the `consentrig` command-line program. One file per command; each
/// `add_*` registers its subcommand with CLI11 and sets `exit_code` when it runs.
///
/// Exit status (PROTOCOL.md §4): 0 no findings, 1 findings, 2 bad input or a failed run.
#include <string_view>

#include <CLI/CLI.hpp>

namespace consentrig::app {

inline constexpr int kExitClean = 0;
inline constexpr int kExitFindings = 1;
inline constexpr int kExitError = 2;

void add_check(CLI::App& app, int& exit_code);
void add_trace(CLI::App& app, int& exit_code);
void add_run(CLI::App& app, int& exit_code);
void add_suite(CLI::App& app, int& exit_code);
void add_merge(CLI::App& app, int& exit_code);
void add_report(CLI::App& app, int& exit_code);  ///< `report` (report_cmd.cpp)
void add_bench(CLI::App& app, int& exit_code);  ///< `bench` and `ports` (bench_cmd.cpp)

/// Prints `consentrig <command>: <message>` to stderr.
void print_error(std::string_view command, std::string_view message);

}  // namespace consentrig::app
