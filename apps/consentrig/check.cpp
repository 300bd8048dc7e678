#include <unistd.h>

#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <system_error>
#include <vector>

#include "cli.hpp"
#include "core/oracle.hpp"
#include "reports/escape.hpp"
#include "reports/junit.hpp"
#include "reports/summary.hpp"
#include "runner/run.hpp"

namespace consentrig::app {
namespace {

struct CheckOptions {
    std::string policy;
    std::string trace;
    std::string json_out;
    std::string junit_out;
    std::string out;  ///< report.html, report.json, summary.md (+ report.pdf)
    std::vector<std::string> taxonomies;
    std::size_t list = 10;
};

int run_check(const CheckOptions& o) {
    const auto started = std::chrono::steady_clock::now();
    auto policy = core::load_policy_file(o.policy);
    if (!policy) {
        print_error("check", policy.error().message);
        return kExitError;
    }
    auto taxonomy = runner::load_taxonomy(o.taxonomies);
    if (!taxonomy) {
        print_error("check", taxonomy.error().message);
        return kExitError;
    }
    auto source = core::open_trace(o.trace);
    if (!source) {
        print_error("check", source.error().message);
        return kExitError;
    }
    std::function<void(std::uint64_t)> progress;
    if (isatty(STDERR_FILENO)) {
        progress = [](std::uint64_t records) { std::cerr << "\r" << records << " records judged…" << std::flush; };
    }
    // The findings' evidence waits on disk until the outputs are written: in the folder of the
    // first output asked for, else in the temp folder ($TMPDIR).
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path spill_dir = fs::temp_directory_path(ec);
    if (ec) spill_dir = "/tmp";
    if (!o.out.empty()) {
        spill_dir = o.out;
    } else {
        for (const std::string& file : {o.json_out, o.junit_out}) {
            if (!file.empty()) {
                spill_dir = fs::absolute(file, ec).parent_path();
                break;
            }
        }
    }
    fs::create_directories(spill_dir, ec);
    auto spill = core::FindingList::on_disk(spill_dir);
    if (!spill) {
        print_error("check", spill.error().message);
        return kExitError;
    }
    auto result = core::check_trace(*policy, *taxonomy, **source, {}, progress, std::move(*spill));
    if (progress) std::cerr << "\r\033[K" << std::flush;
    for (const auto& w : (*source)->warnings()) std::cerr << "consentrig check: warning: " << reports::printable(w) << "\n";
    if (!result) {
        print_error("check", reports::printable(result.error().message));
        return kExitError;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    std::cout << reports::text_summary(result->findings, result->devices.size(), result->stats.messages, o.list);

    std::string error;
    if (!o.json_out.empty()) {
        nlohmann::json extra;
        extra["trace"] = o.trace;
        extra["policy"] = o.policy;
        extra["scenario"] = result->meta.scenario;
        extra["source"] = result->meta.source;
        extra["messages"] = result->stats.messages;
        extra["devices"] = result->devices.size();
        if (auto st = runner::write_findings_file(o.json_out, result->findings, extra); !st) {
            print_error("check", st.error().message);
            return kExitError;
        }
    }
    if (!o.junit_out.empty()) {
        reports::JunitSuite suite;
        suite.name = result->meta.scenario.empty() ? std::filesystem::path(o.trace).stem().string() : result->meta.scenario;
        suite.devices = result->devices;
        suite.findings = &result->findings;
        suite.seconds = seconds;
        if (auto st = runner::write_file(o.junit_out, [&](std::ostream& out) { return reports::write_junit_xml({suite}, out); });
            !st) {
            print_error("check", st.error().message);
            return kExitError;
        }
    }
    if (!o.out.empty()) {
        nlohmann::json info = {{"command", "check"}, {"trace", o.trace}, {"policy", o.policy}, {"scenario", result->meta.scenario},
                               {"source", result->meta.source}, {"seconds", seconds}};
        if (auto st = runner::write_reports(info, *policy, *taxonomy, nullptr, result->findings, o.trace, nullptr, o.out); !st) {
            print_error("check", reports::printable(st.error().message));
            return kExitError;
        }
    }
    return result->findings.empty() ? kExitClean : kExitFindings;
}

}  // namespace

void add_check(CLI::App& app, int& exit_code) {
    auto opts = std::make_shared<CheckOptions>();
    CLI::App* cmd = app.add_subcommand("check", "Judge a captured trace against a consent policy and report every leak.");
    cmd->footer("Example: consentrig check examples/policy.yaml examples/trace.jsonl --json findings.json\n"
                "Exit status: 0 no findings, 1 findings, 2 bad input.");
    cmd->add_option("policy", opts->policy, "Consent policy YAML (PROTOCOL.md §3), or a scenario file")
        ->required()->check(CLI::ExistingFile);
    cmd->add_option("trace", opts->trace, "Trace: JSONL (PROTOCOL.md §2) or a SQLite trace (.db)")
        ->required()->check(CLI::ExistingFile);
    cmd->add_option("--json", opts->json_out, "Write the findings as JSON (PROTOCOL.md §4) to this file");
    cmd->add_option("--junit", opts->junit_out, "Write JUnit XML (one testcase per device × leak class) to this file");
    cmd->add_option("--out", opts->out, "Write report.html, report.json, summary.md (and report.pdf) into this folder");
    cmd->add_option("--taxonomy", opts->taxonomies, "Extra taxonomy YAML merged over the built-in one (repeatable)")
        ->check(CLI::ExistingFile);
    cmd->add_option("--list", opts->list, "How many findings to list in the summary")->capture_default_str();
    cmd->callback([opts, &exit_code] { exit_code = run_check(*opts); });
}

}  // namespace consentrig::app
