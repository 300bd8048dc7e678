// `consentrig run`, `suite` and `merge`: scenarios on the simulated fleet.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>

#include "cli.hpp"
#include "collective.hpp"
#include "core/oracle.hpp"
#include "core/scenario.hpp"
#include "reports/escape.hpp"
#include "reports/junit.hpp"
#include "reports/summary.hpp"
#include "runner/run.hpp"

namespace consentrig::app {
namespace {

namespace fs = std::filesystem;

/// `i/N`, or from the environment of Open MPI, Slurm array jobs or Kubernetes indexed Jobs.
std::optional<sim::Shard> parse_shard(const std::string& text, std::string& error) {
    auto parse = [&](const std::string& s) -> std::optional<sim::Shard> {
        const auto slash = s.find('/');
        if (slash == std::string::npos) return std::nullopt;
        char* end = nullptr;
        const unsigned long i = std::strtoul(s.c_str(), &end, 10);
        if (end != s.c_str() + slash) return std::nullopt;
        const unsigned long n = std::strtoul(s.c_str() + slash + 1, &end, 10);
        if (*end != '\0' || n == 0 || i >= n) return std::nullopt;
        return sim::Shard{static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(n)};
    };
    if (!text.empty()) {
        auto shard = parse(text);
        if (!shard) error = "--shard " + text + ": expected i/N with 0 ≤ i < N, e.g. 0/4";
        return shard;
    }
    auto env = [](const char* name) -> std::string {
        const char* v = std::getenv(name);
        return v ? v : "";
    };
    std::string index, count, source;
    if (!env("OMPI_COMM_WORLD_RANK").empty()) {
        index = env("OMPI_COMM_WORLD_RANK"), count = env("OMPI_COMM_WORLD_SIZE"), source = "Open MPI";
    } else if (!env("SLURM_ARRAY_TASK_ID").empty()) {
        index = env("SLURM_ARRAY_TASK_ID"), count = env("SLURM_ARRAY_TASK_COUNT"), source = "Slurm";
        const std::string min = env("SLURM_ARRAY_TASK_MIN");
        if (!min.empty() && !index.empty()) index = std::to_string(std::stoul(index) - std::stoul(min));
    } else if (!env("JOB_COMPLETION_INDEX").empty()) {
        index = env("JOB_COMPLETION_INDEX"), count = env("CONSENTRIG_SHARDS"), source = "Kubernetes";
    } else {
        return sim::Shard{};
    }
    auto shard = parse(index + "/" + count);
    if (!shard) error = source + " environment gives shard " + index + "/" + count + ", which is not valid";
    return shard;
}

struct RunOptions {
    std::string scenario;
    std::string out;
    std::optional<std::uint64_t> seed;
    std::string shard;
    std::vector<std::string> taxonomies;
    bool quiet = false;
    std::string bench_file;  ///< --bench: replay on boards instead of simulating
    std::string duration;    ///< --duration (bench only)
};

struct RunOutcome {
    core::Scenario scenario;
    runner::RunOutcome run;
};

std::string progress_line(const runner::Progress& p) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(p.fraction * kWidth);
    std::string bar(static_cast<std::size_t>(std::clamp(filled, 0, kWidth)), '#');
    bar.resize(kWidth, '.');
    char buf[256];
    std::snprintf(buf, sizeof buf, "\r[%s] %3d%%  %s  %llu devices  %llu messages  %llu findings", bar.c_str(),
                  static_cast<int>(p.fraction * 100), core::format_rfc3339(p.now).substr(0, 16).c_str(),
                  static_cast<unsigned long long>(p.devices), static_cast<unsigned long long>(p.messages),
                  static_cast<unsigned long long>(p.findings));
    std::string line = buf;
    if (!p.writing.empty()) line += "  writing " + std::string(p.writing) + "…";
    return line + "\033[K";  // a shorter line after a longer one: clear the rest
}

/// Simulates one scenario into `out`: trace.db, findings.json, junit.xml, run.json and the reports.
core::Result<RunOutcome> run_scenario(const RunOptions& o) {
    auto scenario = core::load_scenario(o.scenario);
    if (!scenario) return scenario.error();
    std::string error;
    const auto shard = parse_shard(o.shard, error);
    if (!shard) return core::Error{error};
    auto taxonomy = runner::load_taxonomy(o.taxonomies);
    if (!taxonomy) return taxonomy.error();

    RunOutcome outcome;
    outcome.scenario = std::move(*scenario);
    const core::Scenario& s = outcome.scenario;
    runner::RunOptions ro;
    ro.out = o.out.empty() ? fs::path("out") / s.name : fs::path(o.out);
    if (shard->count > 1) ro.out /= "shard-" + std::to_string(shard->index) + "-of-" + std::to_string(shard->count);
    ro.seed = o.seed;
    ro.shard = *shard;
    const bool tty = !o.quiet && isatty(STDERR_FILENO);
    if (tty) ro.progress = [](const runner::Progress& p) { std::cerr << progress_line(p) << std::flush; };
    ro.warn = [tty](const std::string& warning) { print_warning(tty, warning); };
    auto run = runner::run_scenario(s, *taxonomy, ro);
    if (tty) std::cerr << "\n";
    if (!run) return run.error();
    outcome.run = std::move(*run);
    return outcome;
}

int print_outcome(const RunOutcome& r, std::size_t list) {
    std::cout << r.scenario.name << ": " << r.run.device_count << " devices simulated for "
              << core::format_duration(r.scenario.duration_ms) << " in " << std::fixed;
    std::cout.precision(2);
    std::cout << r.run.seconds << " s\n";
    if (const auto& f = r.run.fleet; f && (f->retransmissions || f->attempts_lost || f->messages_dropped)) {
        std::cout << "network: " << f->retransmissions << " retransmissions, " << f->attempts_lost << " attempts lost, "
                  << f->messages_dropped << " messages given up after the last retry\n";
    }
    std::cout << reports::text_summary(r.run.findings, r.run.device_count, r.run.messages, list);
    std::cout << (r.run.expectations_met ? "expectations: met" : "expectations: NOT met") << "\n";
    for (const auto& p : r.run.expectation_problems) std::cout << "  " << reports::printable(p) << "\n";
    std::string written;  // what this process wrote there (a merged MPI run: findings.json and junit.xml)
    for (const char* f : {"report.html", "report.json", "summary.md", "report.pdf", "findings.json", "junit.xml", "run.json"}) {
        if (fs::exists(r.run.out / f)) written += (written.empty() ? "" : ",") + std::string(f);
    }
    std::cout << "reports: " << r.run.out.string() << "/{" << written << "}, trace: "
              << (r.run.out / "trace.db").string() << "\n";
    return r.run.findings.empty() ? kExitClean : kExitFindings;
}

void add_run_options(CLI::App* cmd, RunOptions& o) {
    cmd->add_option("--seed", o.seed, "Override the scenario's seed");
    cmd->add_option("--taxonomy", o.taxonomies, "Extra taxonomy YAML merged over the built-in one (repeatable)")
        ->check(CLI::ExistingFile);
}

/// Joins shard findings reports (findings.json of each shard) into one, identical to the
/// findings.json of a single-process run. Each shard's findings are read one at a time into a
/// list that keeps their evidence on disk, so a merge needs no more memory than the run did.
class ShardMerge {
public:
    explicit ShardMerge(core::FindingList findings) : findings_(std::move(findings)) {}

    /// Errors name the shard, and for bad JSON its line and column.
    core::Status add(const std::string& name, std::istream& in) {
        using Event = nlohmann::json::parse_event_t;
        bool in_list = false;
        std::uint64_t read = 0;
        std::optional<core::Error> bad;
        // Depth 1: the top-level keys and the list itself; depth 2: one finding, complete.
        auto each = [&](int depth, Event event, nlohmann::json& parsed) {
            if (depth == 1 && event == Event::key) in_list = parsed == "findings";
            if (depth != 2 || !in_list || !(event == Event::object_end || event == Event::array_end || event == Event::value)) {
                return true;
            }
            ++read;
            auto finding = core::finding_from_json(parsed);
            if (!finding) {
                if (!bad) bad = core::Error{name + ": finding " + std::to_string(read) + " could not be read"};
            } else if (auto st = findings_.push_back(std::move(*finding)); !st && !bad) {
                bad = st.error();
            }
            return false;  // not kept in the tree
        };
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(in, each);
        } catch (const nlohmann::json::parse_error& e) {
            // e.what(): "[json.exception.parse_error.101] parse error at line 3, column 5: …"
            const std::string what = e.what();
            const auto at = what.find("] ");
            return core::Error{name + ": not a findings report: " + (at == std::string::npos ? what : what.substr(at + 2))};
        }
        if (bad) return *bad;
        if (!j.is_object() || !j.contains("findings") || !j["findings"].is_array()) {
            return core::Error{name + ": not a findings report"};
        }
        j.erase("findings");
        j.erase("summary");
        j.erase("version");
        if (head_.is_null()) {
            head_ = std::move(j);
            first_ = name;
        } else if (head_ != j) {
            return core::Error{name + ": a different scenario or seed than " + first_};
        }
        return {};
    }

    /// Sorts the joined findings and writes them as findings.json.
    core::Status write(const fs::path& file) {
        findings_.sort();
        return runner::write_findings_file(file, findings_, head_);
    }

    [[nodiscard]] core::FindingList& findings() { return findings_; }
    /// The shards' common metadata (scenario, its SHA-256, seed); null before the first add.
    [[nodiscard]] const nlohmann::json& head() const { return head_; }

private:
    nlohmann::json head_;  ///< the first shard's metadata; every other shard must match it
    std::string first_;
    core::FindingList findings_;
};

/// Every device of the scenario, as a single run's junit.xml lists them: a simulated device
/// reports its state at boot, so each one is in the trace.
std::vector<std::string> scenario_devices(const core::Scenario& s) {
    std::vector<std::string> ids;
    for (const auto& d : s.devices) ids.push_back(d.id);
    for (const auto& fleet : s.fleets) {
        for (std::uint64_t m = 1; m <= fleet.count; ++m) ids.push_back(fleet.device_id(m));
    }
    return ids;
}

/// The whole fleet's junit.xml after a merge of its shards: what a single run writes.
core::Status write_fleet_junit(const fs::path& file, const core::Scenario& s, const core::FindingList& findings,
                               double seconds) {
    const std::vector<reports::JunitSuite> suite{{s.name, scenario_devices(s), &findings, seconds}};
    return runner::write_file(file, [&](std::ostream& out) { return reports::write_junit_xml(suite, out); });
}

/// Under mpirun: every rank simulates its shard, rank 0 joins the shards' findings.json (which
/// it reads from the shard folders, one finding at a time) into the merged findings.json next
/// to them, identical to a single-process run's. Only small facts travel over MPI, so the
/// findings of a leaky fleet need neither a rank's nor rank 0's memory.
int run_mpi(RunOptions o, const Collective& job, std::size_t list) {
    o.shard = std::to_string(job.rank) + "/" + std::to_string(job.size);
    o.quiet = o.quiet || job.rank != 0;
    auto r = run_scenario(o);
    nlohmann::json mine;
    mine["ok"] = r.ok();
    if (r) {
        std::error_code ec;
        const fs::path file = fs::absolute(r->run.out / "findings.json", ec);
        mine["findings"] = file.string();
        mine["size"] = fs::file_size(file, ec);
        mine["devices"] = r->run.device_count;
        mine["messages"] = r->run.messages;
    } else {
        mine["error"] = r.error().message;
    }
    const auto all = gather_to_root(mine.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    if (job.rank != 0) return r ? kExitClean : kExitError;

    std::vector<nlohmann::json> ranks;
    for (std::size_t rank = 0; rank < all.size(); ++rank) {
        auto j = nlohmann::json::parse(all[rank], nullptr, false);
        if (j.is_discarded() || !j.value("ok", false) || !j.contains("findings") || !j["findings"].is_string()) {
            print_error("run", "rank " + std::to_string(rank) + ": " +
                                   reports::printable(j.is_discarded() ? "no report" : j.value("error", "failed")));
            return kExitError;
        }
        ranks.push_back(std::move(j));
    }
    RunOutcome merged = std::move(*r);
    merged.run.out = merged.run.out.parent_path();
    auto spill = core::FindingList::on_disk(merged.run.out);
    if (!spill) {
        print_error("run", spill.error().message);
        return kExitError;
    }
    ShardMerge merge(std::move(*spill));
    std::uint64_t devices = 0, messages = 0;
    for (std::size_t rank = 0; rank < ranks.size(); ++rank) {
        const nlohmann::json& j = ranks[rank];
        const fs::path file = j["findings"].get<std::string>();
        const std::string name = "rank " + std::to_string(rank) + ": " + file.string();
        std::error_code ec;
        std::ifstream in(file, std::ios::binary);
        if (!in || fs::file_size(file, ec) != j.value("size", std::uintmax_t{0})) {
            print_error("run", reports::printable(name) + " is not visible from rank 0: give --out a folder that every rank "
                                                          "shares, or run the shards with --shard and join them with "
                                                          "`consentrig merge`");
            return kExitError;
        }
        if (auto st = merge.add(name, in); !st) {
            print_error("run", reports::printable(st.error().message));
            return kExitError;
        }
        devices += j.value("devices", std::uint64_t{0});
        messages += j.value("messages", std::uint64_t{0});
    }
    merged.run.device_count = devices;
    merged.run.messages = messages;
    if (auto st = merge.write(merged.run.out / "findings.json"); !st) {
        print_error("run", st.error().message);
        return kExitError;
    }
    merged.run.findings = std::move(merge.findings());
    // The expectations hold for the whole fleet, not for rank 0's shard.
    merged.run.expectation_problems.clear();
    merged.run.expectations_met =
        merged.run.complete &&
        core::check_expectations(merged.scenario.expect, merged.run.findings.heads(), &merged.run.expectation_problems).ok();
    if (auto st = write_fleet_junit(merged.run.out / "junit.xml", merged.scenario, merged.run.findings, merged.run.seconds);
        !st) {
        print_error("run", st.error().message);
        return kExitError;
    }
    std::cout << "mpi: " << job.size << " ranks, shard reports in " << merged.run.out.string() << "/shard-*/\n";
    return print_outcome(merged, list);
}

}  // namespace

void add_run(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<RunOptions>();
    auto list = std::make_shared<std::size_t>(10);
    CLI::App* cmd = app.add_subcommand("run", "Simulate a scenario's fleet, capture and judge every message, write reports.");
    cmd->footer("Without SCENARIO, runs the built-in default scenarios/default.yaml.\n"
                "Boards: --bench BENCH.yaml replays it on boards (stub, QEMU, serial ports) like `consentrig bench`.\n"
                "Shards: --shard i/N, or OMPI_COMM_WORLD_RANK/SIZE, SLURM_ARRAY_TASK_ID/COUNT,\n"
                "JOB_COMPLETION_INDEX with CONSENTRIG_SHARDS. Join shard outputs with `consentrig merge`.\n"
                "Exit status: 0 no findings, 1 findings, 2 bad input or a failed run.");
    cmd->add_option("scenario", o->scenario, "Scenario YAML (docs/scenarios.md)")->check(CLI::ExistingFile);
    cmd->add_option("--out", o->out, "Output folder (default out/<scenario name>)");
    cmd->add_option("--shard", o->shard, "Simulate only shard i of N (devices whose index ≡ i mod N)");
    cmd->add_flag("--quiet", o->quiet, "No progress bar");
    cmd->add_option("--list", *list, "How many findings to list in the summary")->capture_default_str();
    cmd->add_option("--bench", o->bench_file, "BENCH.yaml: replay on boards in wall-clock time instead of simulating (docs/bench.md)")
        ->check(CLI::ExistingFile);
    cmd->add_option("--duration", o->duration, "With --bench: replay only this much of the scenario (e.g. 2h)");
    add_run_options(cmd, *o);
    cmd->callback([o, list, &exit_code] {
        if (o->scenario.empty()) o->scenario = std::string(CONSENTRIG_SOURCE_DIR) + "/scenarios/default.yaml";
        if (!o->bench_file.empty()) {
            if (!o->shard.empty() || o->seed) {
                print_error("run", "--bench replays the scenario on boards: --shard and --seed are for the simulator");
                exit_code = kExitError;
                return;
            }
            BenchRunOptions b;
            b.scenario = o->scenario;
            b.out = o->out;
            b.bench_file = o->bench_file;
            b.duration = o->duration;
            b.taxonomies = o->taxonomies;
            b.quiet = o->quiet;
            b.list = *list;
            exit_code = run_bench_command(b, "run");
            return;
        }
        if (!o->duration.empty()) {
            print_error("run", "--duration needs --bench (a simulated run covers the whole scenario)");
            exit_code = kExitError;
            return;
        }
        const Collective job = collective_start();
        if (job.size == 1) {
            auto r = run_scenario(*o);
            if (!r) {
                print_error("run", reports::printable(r.error().message));
                exit_code = kExitError;
            } else {
                exit_code = print_outcome(*r, *list);
            }
            collective_stop();
            return;
        }
        exit_code = run_mpi(*o, job, *list);
        collective_stop();
    });
}

void add_suite(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<RunOptions>();
    auto dir = std::make_shared<std::string>();
    auto junit = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand("suite", "Run every scenario in a folder and compare with its expectations.");
    cmd->footer("Exit status: 0 when every scenario found exactly what it expects, 1 otherwise, 2 on bad input.");
    cmd->add_option("dir", *dir, "Folder of scenario YAML files")->required()->check(CLI::ExistingDirectory);
    cmd->add_option("--junit", *junit, "Write JUnit XML: one testcase per scenario");
    cmd->add_option("--out", o->out, "Output folder (default out/); each scenario writes to <out>/<name>");
    add_run_options(cmd, *o);
    cmd->callback([o, dir, junit, &exit_code] {
        std::vector<fs::path> files;
        for (const auto& e : fs::directory_iterator(*dir)) {
            if (e.is_regular_file() && (e.path().extension() == ".yaml" || e.path().extension() == ".yml")) files.push_back(e.path());
        }
        std::sort(files.begin(), files.end());
        if (files.empty()) {
            print_error("suite", *dir + ": no .yaml scenarios");
            exit_code = kExitError;
            return;
        }
        const fs::path base = o->out.empty() ? fs::path("out") : fs::path(o->out);
        std::string xml_cases;
        std::size_t failed = 0, errors = 0;
        for (const auto& file : files) {
            RunOptions one = *o;
            one.scenario = file.string();
            one.quiet = true;
            one.out.clear();
            auto name_probe = core::load_scenario(file);
            if (name_probe) one.out = (base / name_probe->name).string();
            auto r = run_scenario(one);
            std::string verdict, detail;
            double seconds = 0;
            std::string name = file.stem().string();
            if (!r) {
                ++errors;
                verdict = "ERROR";
                detail = r.error().message;
            } else {
                name = r->scenario.name;
                seconds = r->run.seconds;
                if (r->run.expectations_met) {
                    verdict = "PASS";
                } else {
                    ++failed;
                    verdict = "FAIL";
                    for (const auto& p : r->run.expectation_problems) detail += p + "\n";
                }
                const auto& counts = r->run.findings.counts();
                std::string found;
                for (std::size_t i = 0; i < core::kFindingTypeCount; ++i) {
                    if (counts[i]) found += (found.empty() ? "" : ", ") + std::to_string(counts[i]) + " " + std::string(core::kFindingTypeNames[i]);
                }
                verdict += "  " + std::to_string(r->run.device_count) + " devices, " + std::to_string(r->run.messages) +
                           " messages, findings: " + (found.empty() ? "none" : found);
            }
            std::cout << (verdict.rfind("PASS", 0) == 0 ? "PASS  " : verdict.rfind("FAIL", 0) == 0 ? "FAIL  " : "ERROR ")
                      << name << "  " << verdict.substr(verdict.find("  ") == std::string::npos ? verdict.size() : verdict.find("  ") + 2)
                      << "\n";
            if (!detail.empty()) {
                std::istringstream lines(detail);
                for (std::string line; std::getline(lines, line);) std::cout << "      " << reports::printable(line) << "\n";
            }
            char secs[32];
            std::snprintf(secs, sizeof secs, "%.3f", seconds);
            xml_cases += "    <testcase classname=\"consentrig.suite\" name=\"" + reports::xml_escape(name, false) +
                         "\" time=\"" + secs + "\"";
            if (verdict.rfind("PASS", 0) == 0) {
                xml_cases += "/>\n";
            } else {
                const std::string tag = verdict.rfind("ERROR", 0) == 0 ? "error" : "failure";
                xml_cases += ">\n      <" + tag + " message=\"" + reports::xml_escape(detail.substr(0, detail.find('\n')), false) +
                             "\" type=\"expectations\">" + reports::xml_escape(detail) + "</" + tag + ">\n    </testcase>\n";
            }
        }
        std::cout << files.size() - failed - errors << " passed, " << failed << " failed, " << errors << " errors\n";
        if (!junit->empty()) {
            const std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"consentrig\">\n"
                                    "  <testsuite name=\"consentrig.suite\" tests=\"" + std::to_string(files.size()) +
                                    "\" failures=\"" + std::to_string(failed) + "\" errors=\"" + std::to_string(errors) +
                                    "\">\n" + xml_cases + "  </testsuite>\n</testsuites>\n";
            std::string error;
            if (auto st = runner::write_file(*junit, xml); !st) {
                print_error("suite", st.error().message);
                exit_code = kExitError;
                return;
            }
        }
        exit_code = errors ? kExitError : failed ? kExitFindings : kExitClean;
    });
}

/// The shard runs' folders inside `dir` that hold findings (`run --shard i/N --out DIR` writes
/// into DIR/shard-i-of-N), sorted: what a merge given DIR itself most likely meant.
std::vector<std::string> shard_folders_in(const fs::path& dir) {
    std::vector<std::string> found;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.path().filename().string().starts_with("shard-") && fs::exists(entry.path() / "findings.json", ec)) {
            found.push_back(entry.path().string());
        }
    }
    std::sort(found.begin(), found.end());
    return found;
}

/// What the shards ran, when they make up one whole run.
struct ShardedRun {
    core::Scenario scenario;
    double seconds = 0;  ///< the shards' run times, added up
};

/// The scenario whose expectations the merged findings are checked against: the file the
/// shards' run.json names, if every shard 0…N−1 is there and complete and the file is still
/// the one they ran (same SHA-256). Otherwise the reason the expectations cannot be checked.
core::Result<ShardedRun> sharded_run(const std::vector<std::string>& dirs, const nlohmann::json& head) {
    double seconds = 0;
    std::string file;
    std::uint64_t count = 0;
    std::set<std::uint64_t> seen;  // not a vector of `count`: that number comes from a file
    for (const auto& d : dirs) {
        const fs::path path = fs::path(d) / "run.json";
        std::ifstream in(path, std::ios::binary);
        const auto run = nlohmann::json::parse(in, nullptr, false);
        if (!in || run.is_discarded() || !run.is_object()) return core::Error{path.string() + " cannot be read"};
        std::uint64_t index = 0, n = 1;
        try {  // value() throws where a key holds another type than a run.json writes
            if (run.value("complete", true) != true) return core::Error{d + " did not run to the end"};
            const auto shard = run.value("shard", nlohmann::json::object());
            index = shard.value("index", index);
            n = shard.value("count", n);
            seconds += run.value("seconds", 0.0);
            if (count == 0) file = run.value("file", "");
        } catch (const nlohmann::json::exception&) {
            return core::Error{path.string() + " is not a run's record"};
        }
        if (count == 0) count = n;
        const std::string which = "shard " + std::to_string(index) + " of " + std::to_string(n);
        if (n != count || index >= n) return core::Error{d + " is " + which + ", the first of " + std::to_string(count)};
        if (!seen.insert(index).second) return core::Error{which + " is given twice (" + d + ")"};
    }
    for (std::uint64_t k = 0; k < count; ++k) {  // stops at the first gap, at most one past the folders given
        if (!seen.contains(k)) return core::Error{"shard " + std::to_string(k) + " of " + std::to_string(count) + " is missing"};
    }
    auto scenario = core::load_scenario(file);
    if (!scenario) return core::Error{"the scenario " + file + " cannot be loaded from here"};
    const auto sha = head.find("scenario_sha256");
    if (sha == head.end() || *sha != scenario->sha256) {
        return core::Error{"the scenario " + file + " has changed since the shards ran"};
    }
    return ShardedRun{std::move(*scenario), seconds};
}

void add_merge(CLI::App& app, int& exit_code) {
    auto dirs = std::make_shared<std::vector<std::string>>();
    auto out = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand("merge", "Join the findings of shard runs into one result.");
    cmd->footer("The merged findings.json is byte-identical to that of a single-process run. With every shard there\n"
                "and the scenario file their run.json names unchanged, the scenario's expectations are checked and\n"
                "junit.xml is written as a single run writes it.");
    cmd->add_option("dirs", *dirs, "Shard output folders (each holding findings.json)")->required()->check(CLI::ExistingDirectory);
    cmd->add_option("--out", *out, "Folder for the merged findings.json and junit.xml (default: the parent of the first)");
    cmd->callback([dirs, out, &exit_code] {
        const fs::path target = out->empty() ? fs::path(dirs->front()).parent_path() : fs::path(*out);
        auto fail = [&](const std::string& message) {
            print_error("merge", message);
            exit_code = kExitError;
        };
        std::error_code ec;
        fs::create_directories(target, ec);
        auto list = core::FindingList::on_disk(target);
        if (!list) return fail(list.error().message);
        ShardMerge merge(std::move(*list));
        for (std::size_t k = 0; k < dirs->size(); ++k) {
            const std::string& d = (*dirs)[k];
            for (std::size_t j = 0; j < k; ++j) {
                std::error_code same;
                if (fs::equivalent((*dirs)[j], d, same)) return fail(d + " is given twice (as " + (*dirs)[j] + ")");
            }
            const fs::path file = fs::path(d) / "findings.json";
            std::ifstream in(file, std::ios::binary);
            if (!in) {
                std::string message = file.string() + ": cannot read: " + std::error_code(errno, std::generic_category()).message();
                if (const auto shards = shard_folders_in(d); !shards.empty()) {
                    message += "\n  " + d + " holds shard runs: merge their folders (";
                    for (std::size_t i = 0; i < shards.size(); ++i) message += (i ? " " : "") + shards[i];
                    message += ")";
                }
                return fail(message);
            }
            if (auto st = merge.add(file.string(), in); !st) return fail(st.error().message);
        }
        if (auto st = merge.write(target / "findings.json"); !st) return fail(st.error().message);
        const std::size_t found = merge.findings().size();
        std::cout << "merged " << dirs->size() << " shards: " << found << " findings → "
                  << (target / "findings.json").string() << "\n";
        // The expectations hold for the whole fleet: only the joined findings can meet them.
        const fs::path junit = target / "junit.xml";
        auto whole = sharded_run(*dirs, merge.head());
        if (!whole) {
            std::cout << "expectations: not checked: " << reports::printable(whole.error().message) << "\n";
            fs::remove(junit, ec);  // an earlier merge's would no longer match these findings
            exit_code = found == 0 ? kExitClean : kExitFindings;
            return;
        }
        std::vector<std::string> problems;
        const bool met = core::check_expectations(whole->scenario.expect, merge.findings().heads(), &problems).ok();
        std::cout << (met ? "expectations: met" : "expectations: NOT met") << "\n";
        for (const auto& p : problems) std::cout << "  " << reports::printable(p) << "\n";
        if (auto st = write_fleet_junit(junit, whole->scenario, merge.findings(), whole->seconds); !st) {
            return fail(st.error().message);
        }
        std::cout << "junit: " << junit.string() << "\n";
        exit_code = found == 0 ? kExitClean : kExitFindings;
    });
}

}  // namespace consentrig::app
