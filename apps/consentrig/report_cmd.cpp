// `consentrig report`: rebuilds every report from a stored trace; and the report writing that
// `run` and `check` share (write_reports_for).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "core/oracle.hpp"
#include "core/scenario.hpp"
#include "reports/escape.hpp"
#include "reports/junit.hpp"
#include "reports/model.hpp"
#include "reports/summary.hpp"
#include "reports/write.hpp"
#include "sim/rng.hpp"

namespace consentrig::app {
namespace {

namespace fs = std::filesystem;

/// The behaviour profile each device boots with, as the fleet simulator draws it.
std::function<std::string(std::string_view)> profiles_of(const core::Scenario& s, std::uint64_t seed) {
    return [&s, seed](std::string_view id) -> std::string {
        for (const auto& d : s.devices) {
            if (d.id == id) return std::string(core::to_string(d.profile));
        }
        for (const auto& f : s.fleets) {
            if (f.member_of(id)) {
                sim::Rng pick(seed, id, "profile");
                return std::string(core::to_string(f.pick_profile(pick.uniform())));
            }
        }
        return {};
    };
}

std::function<std::string(std::string_view)> kinds_of(const core::Scenario& s) {
    return [&s](std::string_view id) -> std::string {
        for (const auto& d : s.devices) {
            if (d.id == id) return std::string(core::to_string(d.kind));
        }
        for (const auto& f : s.fleets) {
            if (f.member_of(id)) return std::string(core::to_string(f.kind));
        }
        return {};
    };
}

std::string str(const nlohmann::json& j, const char* key) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

/// run.json / check metadata → RunInfo (known keys), the rest into `extra`.
reports::RunInfo run_info(const nlohmann::json& info) {
    reports::RunInfo r;
    r.scenario = str(info, "scenario");
    r.description = str(info, "description");
    r.scenario_file = str(info, "file");
    r.scenario_sha256 = str(info, "scenario_sha256");
    if (info.contains("seed") && info["seed"].is_number_unsigned()) r.seed = info["seed"].get<std::uint64_t>();
    r.version = str(info, "consentrig_version");
    if (r.version.empty()) r.version = CONSENTRIG_VERSION;
    r.source = str(info, "source");
    r.trace = str(info, "trace");
    r.policy = str(info, "policy");
    r.command = str(info, "command");
    if (info.contains("seconds") && info["seconds"].is_number()) r.seconds = info["seconds"].get<double>();
    if (info.contains("shard") && info["shard"].is_object()) {
        r.shard = {info["shard"].value("index", 0u), info["shard"].value("count", 1u)};
    }
    if (auto t = core::parse_rfc3339(str(info, "start"))) r.start = *t;
    if (auto t = core::parse_rfc3339(str(info, "end"))) r.end = *t;
    static const std::set<std::string> kKnown = {"scenario", "description", "file", "scenario_sha256", "seed",
                                                 "consentrig_version", "source", "trace", "policy", "command",
                                                 "seconds", "shard", "start", "end"};
    for (const auto& [k, v] : info.items()) {
        if (!kKnown.contains(k)) r.extra[k] = v;
    }
    return r;
}

}  // namespace

bool write_reports_for(const nlohmann::json& info, const core::Policy& policy, const core::Taxonomy& taxonomy,
                       const core::Oracle* oracle, const std::vector<core::Finding>& findings, const fs::path& trace,
                       const core::Scenario* scenario, const fs::path& out, std::string& error) {
    reports::ReportInput in;
    in.policy = &policy;
    in.taxonomy = &taxonomy;
    in.oracle = oracle;
    in.findings = findings;
    in.trace = trace;
    in.info = run_info(info);
    if (in.info.trace.empty()) in.info.trace = trace.string();
    reports::JudgedTrace judged;
    if (!oracle) {
        // `check` keeps no oracle: judge the trace again (same rules, same findings).
        auto j = reports::judge_trace(policy, taxonomy, trace, scenario ? std::optional(scenario->end()) : std::nullopt);
        if (!j) {
            error = j.error().message;
            return false;
        }
        judged = std::move(*j);
        in.oracle = judged.oracle.get();
        if (!in.info.start) in.info.start = judged.meta.start.value_or(judged.first);
        if (!in.info.end) in.info.end = judged.last + 1;
    }
    if (scenario) {
        if (!in.info.start) in.info.start = scenario->start;
        if (!in.info.end) in.info.end = scenario->end();
        if (in.info.description.empty()) in.info.description = scenario->description;
        const std::uint64_t seed = in.info.seed.value_or(scenario->seed);
        in.profile_of = profiles_of(*scenario, seed);
        in.kind_of = kinds_of(*scenario);
        in.info.expectations.checked = true;
        in.info.expectations.met = core::check_expectations(scenario->expect, findings, &in.info.expectations.problems).ok();
    }
    auto report = reports::build_report(in);
    if (!report) {
        error = report.error().message;
        return false;
    }
    auto written = reports::write_reports(*report, out);
    if (!written) {
        error = written.error().message;
        return false;
    }
    if (!written->pdf_note.empty()) std::cerr << "consentrig: " << reports::printable(written->pdf_note, true) << "\n";
    if (const char* t = std::getenv("CONSENTRIG_REPORT_TIMES"); t && *t && std::string(t) != "0") {
        std::fprintf(stderr, "consentrig: report model %.2f s, report.html %.2f s, report.json %.2f s, report.pdf %.2f s\n",
                     report->build_seconds, written->html_seconds, written->json_seconds, written->pdf_seconds);
    }
    return true;
}

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
        auto taxonomy = core::Taxonomy::builtin();
        if (!taxonomy) {
            print_error("report", "built-in taxonomy: " + taxonomy.error().message);
            return;
        }
        for (const auto& extra : o->taxonomies) {
            if (auto st = taxonomy->merge_file(extra); !st) {
                print_error("report", st.error().message);
                return;
            }
        }
        // A simulated run's records carry no line numbers (its findings.json has none); judge its
        // trace the same way so the rebuilt findings.json is byte-identical.
        bool sim_run = false;
        if (scenario) {
            auto src = core::open_trace(trace);
            sim_run = src && (*src)->meta().source == "sim";
        }
        auto judged = reports::judge_trace(policy, *taxonomy, trace, scenario ? std::optional(scenario->end()) : std::nullopt,
                                           sim_run);
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
        // The run that made the trace: its facts (simulator statistics; for a bench run the
        // board identities and the rig's timing figures) go into the report's metadata.
        if (scenario && str(previous, "scenario") == scenario->name) {
            for (const auto& [k, v] : previous.items()) {
                if (!info.contains(k) && k != "command") info[k] = v;
            }
        }
        std::string error;
        const auto findings_json = core::findings_to_json(judged->findings, head);
        reports::JunitSuite suite{scenario ? scenario->name : (judged->meta.scenario.empty() ? trace.stem().string() : judged->meta.scenario),
                                  judged->oracle->devices(), judged->findings, 0};
        if (!write_file(out / "findings.json",
                        findings_json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", error) ||
            !write_file(out / "junit.xml", reports::junit_xml({suite}), error)) {
            print_error("report", error);
            return;
        }
        if (!write_reports_for(info, policy, *taxonomy, judged->oracle.get(), judged->findings, trace,
                               scenario ? &*scenario : nullptr, out, error)) {
            print_error("report", reports::printable(error));
            return;
        }
        std::cout << reports::text_summary(judged->findings, judged->oracle->devices().size(), judged->stats.messages);
        std::cout << "reports: " << out.string() << "/{report.html,report.json,summary.md,findings.json,junit.xml"
                  << (fs::exists(out / "report.pdf") ? ",report.pdf" : "") << "}\n";
        exit_code = judged->findings.empty() ? kExitClean : kExitFindings;
    });
}

}  // namespace consentrig::app
