// `consentrig ports` and `consentrig bench`: serial ports, and scenarios replayed in wall-clock
// time against boards (host stubs on ptys by default). docs/bench.md.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli.hpp"
#include "core/scenario.hpp"
#include "reports/escape.hpp"
#include "reports/summary.hpp"
#include "rig/bench.hpp"
#include "rig/link.hpp"
#include "runner/run.hpp"

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
    auto taxonomy = runner::load_taxonomy(o.taxonomies);
    if (!taxonomy) return fail(taxonomy.error().message);
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
    runner::RunOptions ro;
    ro.out = o.out.empty() ? fs::path("out") / ("bench-" + s.name) : fs::path(o.out);
    ro.bench = std::move(bo);
    const bool tty = !o.quiet && isatty(STDERR_FILENO);
    if (tty) {
        ro.progress = [](const runner::Progress& p) {
            std::fprintf(stderr, "\r[bench] %3d%%  %s  %llu messages  %llu findings", static_cast<int>(p.fraction * 100),
                         core::format_rfc3339(p.now).substr(0, 16).c_str(), static_cast<unsigned long long>(p.messages),
                         static_cast<unsigned long long>(p.findings));
        };
    }
    auto r = runner::run_scenario(s, *taxonomy, ro);
    if (tty) std::cerr << "\n";
    if (!r) return fail(r.error().message);
    const rig::BenchStats& stats = *r->bench;

    char line[256];
    std::snprintf(line, sizeof line, "%s: %zu boards, %s of scenario time in %.1f s (time scale %g)\n", s.name.c_str(),
                  stats.boards.size(), core::format_duration(stats.end - stats.start).c_str(), stats.wall_seconds,
                  stats.time_scale);
    std::cout << line;
    for (const auto& b : stats.boards) {
        const auto& c = b.counters;
        std::cout << "  " << reports::printable(b.device) << " on " << reports::printable(b.port) << ": " << c.frames
                  << " frames, " << c.dropped() << " dropped, " << c.lost_by_sequence_gap << " lost by sequence, " << b.gaps
                  << " gaps, " << b.command_errors << " command errors\n";
    }
    std::snprintf(line, sizeof line, "stimulus lateness: p50 %.0f µs, p99 %.0f µs, max %.0f µs (%llu stimuli)\n",
                  stats.lateness.p50_us, stats.lateness.p99_us, stats.lateness.max_us,
                  static_cast<unsigned long long>(stats.lateness.count));
    std::cout << line;
    for (const auto& w : stats.warnings) std::cout << "warning: " << reports::printable(w) << "\n";
    std::cout << reports::text_summary(r->findings, stats.boards.size(), r->messages, o.list);
    if (!r->complete) std::cout << "expectations: not checked (only part of the scenario was replayed)\n";
    else std::cout << (r->expectations_met ? "expectations: met" : "expectations: NOT met") << "\n";
    for (const auto& p : r->expectation_problems) std::cout << "  " << reports::printable(p) << "\n";
    std::cout << "reports: " << ro.out.string() << "/{report.html,report.json,summary.md,findings.json,junit.xml,run.json}, trace: "
              << (ro.out / "trace.db").string() << ", board logs: " << (ro.out / "board-log.jsonl").string() << "\n";
    return r->findings.empty() ? kExitClean : kExitFindings;
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
            std::cout << runner::dump_json(a);
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
