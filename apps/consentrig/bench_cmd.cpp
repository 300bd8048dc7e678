// `consentrig ports` and `consentrig bench`: serial ports, and scenarios replayed in wall-clock
// time against boards (host stubs on ptys by default). docs/bench.md.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli.hpp"
#include "core/oracle.hpp"
#include "core/scenario.hpp"
#include "reports/escape.hpp"
#include "reports/junit.hpp"
#include "reports/summary.hpp"
#include "rig/bench.hpp"
#include "rig/link.hpp"

namespace consentrig::app {
namespace {

namespace fs = std::filesystem;

struct BenchCmdOptions {
    std::string scenario;
    std::string out;
    double time_scale = 1000;
    std::string duration;
    std::vector<std::string> boards;
    std::vector<std::string> kills;
    std::vector<std::string> taxonomies;
    std::string stub;
    bool pace = false;
    bool quiet = false;
    std::size_t list = 10;
};

std::string dump(const nlohmann::json& j) { return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"; }

nlohmann::json percentiles_json(const rig::Percentiles& p) {
    return {{"count", p.count}, {"p50_us", p.p50_us}, {"p99_us", p.p99_us}, {"max_us", p.max_us}};
}

nlohmann::json counters_json(const rig::FrameCounters& c) {
    return {{"bytes", c.bytes},       {"frames", c.frames},         {"bad_crc", c.bad_crc},
            {"bad_cobs", c.bad_cobs}, {"oversize", c.oversize},     {"runt", c.runt},
            {"bad_json", c.bad_json}, {"bad_version", c.bad_version}, {"lost_by_sequence_gap", c.lost_by_sequence_gap},
            {"unknown_type", c.unknown_type}};
}

/// DEVICE=PORT[@BAUD]
bool parse_board(const std::string& text, rig::BoardSpec& out) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) return false;
    out.device = text.substr(0, eq);
    std::string port = text.substr(eq + 1);
    if (const auto at = port.rfind('@'); at != std::string::npos) {
        char* end = nullptr;
        const unsigned long baud = std::strtoul(port.c_str() + at + 1, &end, 10);
        if (*end != '\0' || baud == 0) return false;
        out.baud = static_cast<std::uint32_t>(baud);
        port.resize(at);
    }
    out.port = port;
    return true;
}

/// DEVICE@OFFSET[+DOWN]
bool parse_kill(const std::string& text, rig::BoardKill& out) {
    const auto at = text.find('@');
    if (at == std::string::npos || at == 0) return false;
    out.device = text.substr(0, at);
    std::string rest = text.substr(at + 1);
    if (const auto plus = rest.find('+'); plus != std::string::npos) {
        const auto down = core::parse_scenario_duration(rest.substr(plus + 1));
        if (!down) return false;
        out.down_ms = *down;
        rest.resize(plus);
    }
    const auto off = core::parse_scenario_duration(rest);
    if (!off) return false;
    out.at_ms = *off;
    return true;
}

int run_bench_cmd(const BenchCmdOptions& o) {
    auto fail = [](const std::string& msg) {
        print_error("bench", reports::printable(msg));
        return kExitError;
    };
    auto scenario = core::load_scenario(o.scenario);
    if (!scenario) return fail(scenario.error().message);
    const core::Scenario& s = *scenario;
    auto taxonomy = core::Taxonomy::builtin();
    if (!taxonomy) return fail("built-in taxonomy: " + taxonomy.error().message);
    for (const auto& extra : o.taxonomies) {
        if (auto st = taxonomy->merge_file(extra); !st) return fail(st.error().message);
    }
    rig::BenchOptions bo;
    bo.time_scale = o.time_scale;
    if (!o.duration.empty()) {
        const auto d = core::parse_scenario_duration(o.duration);
        if (!d || *d <= 0) return fail("--duration " + o.duration + ": expected a duration such as 2h or 90m");
        bo.duration_ms = *d;
    }
    for (const auto& b : o.boards) {
        rig::BoardSpec spec;
        if (!parse_board(b, spec)) return fail("--board " + b + ": expected DEVICE=PORT or DEVICE=PORT@BAUD");
        bo.boards.push_back(spec);
    }
    for (const auto& k : o.kills) {
        rig::BoardKill kill;
        if (!parse_kill(k, kill)) return fail("--kill " + k + ": expected DEVICE@OFFSET or DEVICE@OFFSET+DOWN, e.g. thermo-1@2h+10m");
        bo.kills.push_back(kill);
    }
    bo.stub_program = o.stub;
    bo.pace = o.pace;
    const fs::path out = o.out.empty() ? fs::path("out") / ("bench-" + s.name) : fs::path(o.out);
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec) return fail(out.string() + ": cannot create: " + ec.message());
    bo.work_dir = out / "boards";
    for (const char* f : {"trace.db", "trace.db-wal", "trace.db-shm", "board-log.jsonl"}) fs::remove(out / f, ec);
    auto store = core::TraceStore::create(out / "trace.db");
    if (!store) return fail(store.error().message);
    store->set_batch(64);  // small batches: a killed rig loses at most the last ~64 records / 200 ms
    const core::TraceMeta meta = rig::bench_meta(s);
    if (auto st = store->write_meta(meta); !st) return fail(st.error().message);

    core::Oracle oracle(s.policy, *taxonomy);
    oracle.begin(meta);
    std::vector<core::Finding> findings;
    oracle.set_sink([&](core::Finding&& f) { findings.push_back(std::move(f)); });
    auto last_commit = std::chrono::steady_clock::now();
    const rig::BenchSink sink = [&](const core::Record& r) -> core::Status {
        if (auto st = store->append(r); !st) return st;
        if (std::chrono::steady_clock::now() - last_commit > std::chrono::milliseconds(200)) {
            if (auto st = store->commit(); !st) return st;
            last_commit = std::chrono::steady_clock::now();
        }
        return oracle.feed(r);
    };
    std::ofstream log_file(out / "board-log.jsonl", std::ios::trunc);
    const rig::LogSink logs = [&](const std::string& device, const rig::Capture& c) {
        nlohmann::json j{{"device", device}, {"arrival", core::format_rfc3339(c.arrival_ms)}, {"level", c.level}, {"msg", c.msg}};
        if (c.board_ms) j["t"] = *c.board_ms;
        log_file << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    };
    const bool tty = !o.quiet && isatty(STDERR_FILENO);
    if (tty) {
        bo.progress = [&](const rig::BenchProgress& p) {
            std::fprintf(stderr, "\r[bench] %3d%%  %s  %llu records  %llu messages  %zu findings", static_cast<int>(p.fraction * 100),
                         core::format_rfc3339(p.scenario_now).substr(0, 16).c_str(), static_cast<unsigned long long>(p.records),
                         static_cast<unsigned long long>(p.messages), findings.size());
        };
    }
    auto stats = rig::run_bench(s, sink, bo, logs);
    if (tty) std::cerr << "\n";
    if (!stats) return fail(stats.error().message);
    if (auto st = store->commit(); !st) return fail(st.error().message);
    auto side = oracle.finish(stats->end);
    for (auto& f : side) findings.push_back(std::move(f));
    std::stable_sort(findings.begin(), findings.end(), core::finding_less);
    const auto devices = oracle.devices();

    nlohmann::json head;
    head["scenario"] = s.name;
    head["scenario_sha256"] = s.sha256;
    head["seed"] = s.seed;
    head["source"] = "bench";
    const auto json = core::findings_to_json(findings, head);
    nlohmann::json run;
    run["scenario"] = s.name;
    run["file"] = s.file;
    run["scenario_sha256"] = s.sha256;
    run["source"] = "bench";
    run["consentrig_version"] = CONSENTRIG_VERSION;
    run["time_scale"] = stats->time_scale;
    run["replayed"] = {{"from", core::format_rfc3339(stats->start)}, {"to", core::format_rfc3339(stats->end)}};
    run["complete"] = stats->end == s.end();
    run["seconds"] = stats->wall_seconds;
    run["records"] = stats->records;
    run["messages"] = stats->messages;
    run["logs"] = stats->logs;
    run["reordered"] = stats->reordered;
    run["stimulus_lateness"] = percentiles_json(stats->lateness);
    run["capture_delay"] = percentiles_json(stats->capture_uncertainty);
    run["warnings"] = stats->warnings;
    nlohmann::json boards = nlohmann::json::array();
    std::uint64_t gaps = 0;
    for (const auto& b : stats->boards) {
        gaps += b.gaps;
        boards.push_back({{"device", b.device},
                          {"port", b.port},
                          {"board", b.info.board},
                          {"firmware", b.info.firmware},
                          {"version", b.info.version},
                          {"caps", b.info.caps},
                          {"frames", counters_json(b.counters)},
                          {"hellos", b.hellos},
                          {"gaps", b.gaps},
                          {"captured", b.captured},
                          {"commands", b.commands},
                          {"command_errors", b.command_errors},
                          {"errors", b.errors},
                          {"clock_drift_ppm", b.drift_ppm},
                          {"max_capture_delay_ms", b.max_delay_ms}});
    }
    run["boards"] = boards;
    reports::JunitSuite suite{s.name, devices, findings, stats->wall_seconds};
    std::string error;
    for (const auto& [name, text] : {std::pair<const char*, std::string>{"findings.json", dump(json)},
                                     {"run.json", dump(run)},
                                     {"junit.xml", reports::junit_xml({suite})}}) {
        if (!write_file(out / name, text, error)) return fail(error);
    }
    // report.html, report.json, summary.md (+ report.pdf): the same reports as `run` writes,
    // with the boards and rig timings of run.json as run facts.
    if (!write_reports_for(run, s.policy, *taxonomy, &oracle, findings, out / "trace.db", &s, out, error)) {
        return fail(error);
    }

    char line[256];
    std::snprintf(line, sizeof line, "%s: %zu boards, %s of scenario time in %.1f s (time scale %g)\n", s.name.c_str(),
                  stats->boards.size(), core::format_duration(stats->end - stats->start).c_str(), stats->wall_seconds,
                  stats->time_scale);
    std::cout << line;
    for (const auto& b : stats->boards) {
        const auto& c = b.counters;
        std::cout << "  " << reports::printable(b.device) << " on " << reports::printable(b.port) << ": " << c.frames
                  << " frames, " << c.dropped() << " dropped, " << c.lost_by_sequence_gap << " lost by sequence, " << b.gaps
                  << " gaps, " << b.command_errors << " command errors\n";
    }
    std::snprintf(line, sizeof line, "stimulus lateness: p50 %.0f µs, p99 %.0f µs, max %.0f µs (%llu stimuli)\n",
                  stats->lateness.p50_us, stats->lateness.p99_us, stats->lateness.max_us,
                  static_cast<unsigned long long>(stats->lateness.count));
    std::cout << line;
    for (const auto& w : stats->warnings) std::cout << "warning: " << reports::printable(w) << "\n";
    std::cout << reports::text_summary(findings, stats->boards.size(), stats->messages, o.list);
    std::vector<std::string> problems;
    const bool met = stats->end == s.end() && core::check_expectations(s.expect, findings, &problems).ok();
    if (stats->end != s.end()) std::cout << "expectations: not checked (only part of the scenario was replayed)\n";
    else std::cout << (met ? "expectations: met" : "expectations: NOT met") << "\n";
    if (stats->end == s.end()) {
        for (const auto& p : problems) std::cout << "  " << reports::printable(p) << "\n";
    }
    std::cout << "reports: " << out.string() << "/{report.html,report.json,summary.md,findings.json,junit.xml,run.json}, trace: "
              << (out / "trace.db").string() << ", board logs: " << (out / "board-log.jsonl").string() << "\n";
    return findings.empty() ? kExitClean : kExitFindings;
}

}  // namespace

void add_bench(CLI::App& app, int& exit_code) {
    CLI::App* ports = app.add_subcommand("ports", "List serial ports (USB VID:PID, serial number, description).");
    auto as_json = std::make_shared<bool>(false);
    ports->add_flag("--json", *as_json, "Print JSON");
    ports->callback([as_json, &exit_code] {
        auto list = rig::list_ports();
        if (!list) {
            print_error("ports", list.error().message);
            exit_code = kExitError;
            return;
        }
        if (*as_json) {
            nlohmann::json a = nlohmann::json::array();
            for (const auto& p : *list) {
                a.push_back({{"name", p.name}, {"description", p.description}, {"transport", p.transport},
                             {"vid_pid", p.vid_pid()}, {"serial", p.serial}, {"manufacturer", p.manufacturer},
                             {"product", p.product}});
            }
            std::cout << dump(a);
            exit_code = kExitClean;
            return;
        }
        if (list->empty()) {
            std::cout << "no serial ports found (USB-serial adapters appear as /dev/ttyUSB* or /dev/ttyACM*; "
                         "pseudo-terminals are not listed — `consentrig bench` starts host stubs on its own)\n";
        }
        for (const auto& p : *list) {
            std::cout << p.name;
            if (!p.vid_pid().empty()) std::cout << "  " << p.vid_pid();
            if (!p.serial.empty()) std::cout << "  serial " << reports::printable(p.serial);
            std::cout << "  " << (p.description.empty() ? p.transport : reports::printable(p.description)) << "\n";
        }
        exit_code = kExitClean;
    });

    auto o = std::make_shared<BenchCmdOptions>();
    CLI::App* cmd = app.add_subcommand("bench", "Replay a scenario in wall-clock time against boards, capture and judge.");
    cmd->footer("Without SCENARIO, replays scenarios/default.yaml on host-stub boards (one per device, on ptys).\n"
                "Boards: --board DEVICE=/dev/ttyUSB0[@115200] puts a real board in place of a stub.\n"
                "Faults: --kill DEVICE@2h+10m kills that stub 2 h into the scenario and restarts it 10 min later.\n"
                "Exit status: 0 no findings, 1 findings, 2 bad input or a failed run. docs/bench.md.");
    cmd->add_option("scenario", o->scenario, "Scenario YAML (named devices only)")->check(CLI::ExistingFile);
    cmd->add_option("--out", o->out, "Output folder (default out/bench-<scenario name>)");
    cmd->add_option("--time-scale", o->time_scale, "Scenario seconds per wall second (1…1000; boards need cap time_scale)")
        ->capture_default_str();
    cmd->add_option("--duration", o->duration, "Replay only this much of the scenario (e.g. 2h)");
    cmd->add_option("--board", o->boards, "DEVICE=PORT[@BAUD]: a real board (repeatable)");
    cmd->add_option("--kill", o->kills, "DEVICE@OFFSET[+DOWN]: kill a stub mid-run (repeatable)");
    cmd->add_option("--stub", o->stub, "Host-stub program (default: consentrig-board next to consentrig)");
    cmd->add_option("--taxonomy", o->taxonomies, "Extra taxonomy YAML (repeatable)")->check(CLI::ExistingFile);
    cmd->add_flag("--pace", o->pace, "Pace every link at 115200 baud like a real UART");
    cmd->add_flag("--quiet", o->quiet, "No progress line");
    cmd->add_option("--list", o->list, "How many findings to list")->capture_default_str();
    cmd->callback([o, &exit_code] {
        if (o->scenario.empty()) o->scenario = std::string(CONSENTRIG_SOURCE_DIR) + "/scenarios/default.yaml";
        exit_code = run_bench_cmd(*o);
    });
}

}  // namespace consentrig::app
