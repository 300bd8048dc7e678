// `consentrig report`: rebuilds every report from a stored trace (report writing: runner/).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <system_error>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "core/oracle.hpp"
#include "core/scenario.hpp"
#include "core/trace.hpp"
#include "reports/escape.hpp"
#include "reports/junit.hpp"
#include "reports/model.hpp"
#include "reports/summary.hpp"
#include "runner/run.hpp"

namespace consentrig::app {
namespace {

namespace fs = std::filesystem;

std::string str(const nlohmann::json& j, const char* key) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

}  // namespace

void add_report(CLI::App& app, int& exit_code) {
    struct Options {
        std::string trace, policy, scenario, out;
        std::optional<std::uint64_t> seed;
        std::vector<std::string> taxonomies;
    };
    auto o = std::make_shared<Options>();
    CLI::App* cmd = app.add_subcommand("report", "Rebuild every report (HTML, JSON, JUnit, Markdown, PDF) from a stored trace.");
    cmd->footer("Writes findings.json, junit.xml, report.html, report.json, summary.md and report.pdf (when Chromium\n"
                "is installed; CONSENTRIG_PDF=off skips it). Without --policy or --scenario, the scenario named by\n"
                "run.json next to the trace is used. Exit status: 0 no findings, 1 findings, 2 bad input.");
    cmd->add_option("trace", o->trace, "Trace: SQLite (.db) or JSONL")->required()->check(CLI::ExistingFile);
    auto* pol = cmd->add_option("--policy", o->policy, "Consent policy YAML to judge against")->check(CLI::ExistingFile);
    cmd->add_option("--scenario", o->scenario, "Scenario YAML (policy, names, profiles, expectations)")
        ->check(CLI::ExistingFile)
        ->excludes(pol);
    cmd->add_option("--out", o->out, "Output folder (default: the trace's folder)");
    cmd->add_option("--seed", o->seed, "The run's seed, if it overrode the scenario's (profiles of fleet members)");
    cmd->add_option("--taxonomy", o->taxonomies, "Extra taxonomy YAML merged over the built-in one (repeatable)")
        ->check(CLI::ExistingFile);
    cmd->callback([o, &exit_code] {
        exit_code = kExitError;
        const fs::path trace(o->trace);
        const fs::path out = o->out.empty() ? (trace.has_parent_path() ? trace.parent_path() : fs::path(".")) : fs::path(o->out);
        nlohmann::json previous;  // run.json of the run that made the trace, if any
        if (std::ifstream in(trace.parent_path() / "run.json"); in) previous = nlohmann::json::parse(in, nullptr, false);
        if (previous.is_discarded() || !previous.is_object()) previous = nlohmann::json::object();
        std::string scenario_file = o->scenario;
        if (o->policy.empty() && scenario_file.empty()) {
            scenario_file = str(previous, "file");
            if (scenario_file.empty() || !fs::exists(scenario_file)) {
                print_error("report", "give --policy or --scenario (no run.json with a readable scenario next to the trace)");
                return;
            }
        }
        std::optional<core::Scenario> scenario;
        core::Policy policy;
        if (!scenario_file.empty()) {
            auto s = core::load_scenario(scenario_file);
            if (!s) {
                print_error("report", reports::printable(s.error().message));
                return;
            }
            scenario = std::move(*s);
            policy = scenario->policy;
        } else {
            auto p = core::load_policy_file(o->policy);
            if (!p) {
                print_error("report", reports::printable(p.error().message));
                return;
            }
            policy = std::move(*p);
        }
        auto taxonomy = runner::load_taxonomy(o->taxonomies);
        if (!taxonomy) {
            print_error("report", taxonomy.error().message);
            return;
        }
        // A simulated run's records carry no line numbers (its findings.json has none); judge its
        // trace the same way so the rebuilt findings.json is byte-identical.
        bool sim_run = false;
        if (scenario) {
            auto src = core::open_trace(trace);
            sim_run = src && (*src)->meta().source == "sim";
        }
        std::error_code ec;
        fs::create_directories(out, ec);
        if (ec) {
            print_error("report", out.string() + ": cannot create: " + ec.message());
            return;
        }
        reports::JudgeOptions jo;
        if (scenario) jo.end = scenario->end();
        jo.without_lines = sim_run;
        jo.spill_dir = out;  // a big trace's findings do not fit in memory with their evidence
        auto judged = reports::judge_trace(policy, *taxonomy, trace, jo);
        if (!judged) {
            print_error("report", reports::printable(judged.error().message));
            return;
        }
        for (const auto& w : judged->warnings) std::cerr << "consentrig report: warning: " << reports::printable(w) << "\n";

        nlohmann::json info = nlohmann::json::object();
        nlohmann::json head = nlohmann::json::object();
        info["command"] = "report";
        info["trace"] = trace.string();
        info["source"] = judged->meta.source;
        if (!scenario) {
            info["start"] = core::format_rfc3339(judged->meta.start.value_or(judged->first));
            info["end"] = core::format_rfc3339(judged->last + 1);
        }
        if (scenario) {
            const std::uint64_t seed = o->seed.value_or(previous.value("seed", scenario->seed));
            info["scenario"] = scenario->name;
            info["file"] = scenario->file;
            info["scenario_sha256"] = scenario->sha256;
            info["seed"] = seed;
            // The same head as `run` writes, so a rebuilt findings.json is byte-identical.
            head["scenario"] = scenario->name;
            head["scenario_sha256"] = scenario->sha256;
            head["seed"] = seed;
            head["source"] = judged->meta.source;
        } else {
            info["scenario"] = judged->meta.scenario;
            info["policy"] = o->policy;
            head["trace"] = o->trace;
            head["policy"] = o->policy;
            head["scenario"] = judged->meta.scenario;
            head["source"] = judged->meta.source;
            head["messages"] = judged->stats.messages;
            head["devices"] = judged->oracle->devices().size();
        }
        // A run that did not end cleanly (a rig killed mid-run) left "complete" = "false" in the
        // trace's meta table: the report says INCOMPLETE, replayed up to its last record.
        if (auto complete = core::read_meta_value(trace, "complete"); complete && *complete == "false") {
            auto to = core::read_meta_value(trace, "replayed_to");
            info["complete"] = false;
            info["replayed_to"] = to && *to ? **to : core::format_rfc3339(judged->last + 1);
        }
        // The run that made the trace: its facts (simulator statistics; for a bench run the
        // board identities and the rig's timing figures) go into the report's metadata.
        if (scenario && str(previous, "scenario") == scenario->name) {
            for (const auto& [k, v] : previous.items()) {
                if (!info.contains(k) && k != "command") info[k] = v;
            }
        }
        reports::JunitSuite suite{scenario ? scenario->name : (judged->meta.scenario.empty() ? trace.stem().string() : judged->meta.scenario),
                                  judged->oracle->devices(), &judged->findings, 0};
        auto st = runner::write_findings_file(out / "findings.json", judged->findings, head);
        if (st) {
            st = runner::write_file(out / "junit.xml", [&](std::ostream& os) { return reports::write_junit_xml({suite}, os); });
        }
        if (!st) {
            print_error("report", st.error().message);
            return;
        }
        if (auto st = runner::write_reports(info, policy, *taxonomy, judged->oracle.get(), judged->findings, trace,
                               scenario ? &*scenario : nullptr, out); !st) {
            print_error("report", reports::printable(st.error().message));
            return;
        }
        std::cout << reports::text_summary(judged->findings, judged->oracle->devices().size(), judged->stats.messages);
        std::cout << "reports: " << out.string() << "/{report.html,report.json,summary.md,findings.json,junit.xml"
                  << (fs::exists(out / "report.pdf") ? ",report.pdf" : "") << "}\n";
        exit_code = judged->findings.empty() ? kExitClean : kExitFindings;
    });
}

}  // namespace consentrig::app
