#pragma once
/// apps/consentrig — the `consentrig` command-line program. One file per command; each
/// `add_*` registers its subcommand with CLI11 and sets `exit_code` when it runs.
///
/// Exit status (PROTOCOL.md §4): 0 no findings, 1 findings, 2 bad input or a failed run.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

/// A replay on boards: `consentrig bench …` and `consentrig run SCENARIO --bench BENCH.yaml`.
struct BenchRunOptions {
    std::string scenario;               ///< empty: scenarios/default.yaml
    std::string out;
    std::string bench_file;             ///< BENCH.yaml (optional)
    std::optional<double> time_scale;   ///< overrides BENCH.yaml (default 1000)
    std::string duration;
    std::vector<std::string> boards;    ///< DEVICE=PORT[@BAUD]
    std::vector<std::string> kills;     ///< DEVICE@OFFSET[+DOWN]
    std::vector<std::string> taxonomies;
    std::string stub;
    std::string emulator;               ///< "qemu", "stub" or "" (BENCH.yaml's default, else stub)
    bool pace = false;
    bool quiet = false;
    std::size_t list = 10;
};
/// Runs it (bench_cmd.cpp) and prints the summary; returns the exit status.
int run_bench_command(const BenchRunOptions& o, std::string_view command);

/// Prints `consentrig <command>: <message>` to stderr.
void print_error(std::string_view command, std::string_view message);
/// Prints `warning: <message>` to stderr while a run goes on; on a terminal it first clears the
/// progress line, which goes on below it.
void print_warning(bool tty, std::string_view message);

}  // namespace consentrig::app
