#pragma once
/// apps/consentrig — the `consentrig` command-line program. One file per command; each
/// `add_*` registers its subcommand with CLI11 and sets `exit_code` when it runs.
///
/// Exit status (PROTOCOL.md §4): 0 no findings, 1 findings, 2 bad input or a failed run.
#include <filesystem>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <nlohmann/json_fwd.hpp>

#include "core/findings.hpp"

namespace consentrig::core {
class Policy;
class Taxonomy;
class Oracle;
struct Scenario;
}  // namespace consentrig::core

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

/// report_cmd.cpp: builds the report model and writes report.html, report.json, summary.md and
/// report.pdf into `out`. `info`: run.json-style metadata; `oracle` null: the trace is judged again.
[[nodiscard]] bool write_reports_for(const nlohmann::json& info, const core::Policy& policy, const core::Taxonomy& taxonomy,
                                     const core::Oracle* oracle, const std::vector<core::Finding>& findings,
                                     const std::filesystem::path& trace, const core::Scenario* scenario,
                                     const std::filesystem::path& out, std::string& error);

/// Writes a whole file via a temporary and rename, so a reader never sees half a report.
[[nodiscard]] bool write_file(const std::filesystem::path& path, std::string_view content, std::string& error);

}  // namespace consentrig::app
