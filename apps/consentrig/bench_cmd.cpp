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
#include "rig/bench_config.hpp"
#include "rig/qemu.hpp"
#include "rig/link.hpp"
#include "runner/run.hpp"

namespace consentrig::app {
namespace {

namespace fs = std::filesystem;

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

/// Which emulated boards `consentrig bench` uses: QEMU when qemu-system-arm and the
/// cross-built image are there, else host stubs — and why, for the summary.
rig::BoardType auto_emulator(std::string& why) {
    const std::string qemu = rig::default_qemu_program();
    const fs::path image = rig::default_m3_image();
    std::error_code ec;
    if (!qemu.empty() && !image.empty() && fs::exists(image, ec)) {
        why = "QEMU mps2-an385 boards (" + qemu + ", " + image.string() + ")";
        return rig::BoardType::qemu;
    }
    why = qemu.empty() ? "host-stub boards (qemu-system-arm not installed)"
                       : "host-stub boards (Cortex-M3 image not built: needs arm-none-eabi-gcc and the target m3_board)";
    return rig::BoardType::stub;
}

std::string plant_line(const rig::BoardReport& b) {
    if (!b.plant) return {};
    const auto& p = *b.plant;
    char buf[320];
    std::string house;  // what the board's kind acts on
    if (b.info.kind == "lock") {
        std::snprintf(buf, sizeof buf, "battery %.2f %%, door %s", p.battery_pct, p.door_closed ? "closed" : "open");
    } else {
        std::snprintf(buf, sizeof buf, "room %.2f °C, outdoor %.1f °C, heat %s", p.room_c, p.outdoor_c, p.heat ? "on" : "off");
    }
    house = buf;
    std::snprintf(buf, sizeof buf, "    plant (%s): %s, %llu Modbus requests, %llu unanswered (fault)\n", b.plant_link.c_str(),
                  house.c_str(), static_cast<unsigned long long>(p.counters.requests),
                  static_cast<unsigned long long>(p.counters.dropped));
    return buf;
}

}  // namespace

int run_bench_command(const BenchRunOptions& o, std::string_view command) {
    auto fail = [command](const std::string& msg) {
        print_error(command, reports::printable(msg));
        return kExitError;
    };
    const std::string file = o.scenario.empty() ? std::string(CONSENTRIG_SOURCE_DIR) + "/scenarios/default.yaml" : o.scenario;
    auto scenario = core::load_scenario(file);
    if (!scenario) return fail(scenario.error().message);
    const core::Scenario& s = *scenario;
    auto taxonomy = runner::load_taxonomy(o.taxonomies);
    if (!taxonomy) return fail(taxonomy.error().message);
    rig::BenchOptions bo;
    bo.time_scale = 1000;
    std::string boards_why;
    if (!o.bench_file.empty()) {
        auto cfg = rig::load_bench_config(o.bench_file, s);
        if (!cfg) return fail(cfg.error().message);
        rig::apply(*cfg, bo);
        boards_why = "boards from " + o.bench_file;
    }
    if (o.emulator == "qemu") {
        bo.default_board = rig::BoardType::qemu;
        boards_why = "QEMU mps2-an385 boards";
    } else if (o.emulator == "stub") {
        bo.default_board = rig::BoardType::stub;
        boards_why = "host-stub boards";
    } else if (o.emulator == "auto") {
        bo.default_board = auto_emulator(boards_why);
    } else if (!o.emulator.empty()) {
        return fail("--emulator " + o.emulator + ": expected qemu, stub or auto");
    }
    if (o.time_scale) bo.time_scale = *o.time_scale;
    if (!o.duration.empty()) {
        const auto d = core::parse_scenario_duration(o.duration);
        if (!d || *d <= 0) return fail("--duration " + o.duration + ": expected a duration such as 2h or 90m");
        bo.duration_ms = *d;
    }
    for (const auto& b : o.boards) {
        rig::BoardSpec spec;
        spec.type = rig::BoardType::serial;
        if (!parse_board(b, spec)) return fail("--board " + b + ": expected DEVICE=PORT or DEVICE=PORT@BAUD");
        bo.boards.push_back(spec);
    }
    for (const auto& k : o.kills) {
        rig::BoardKill kill;
        if (!parse_kill(k, kill)) return fail("--kill " + k + ": expected DEVICE@OFFSET or DEVICE@OFFSET+DOWN, e.g. thermo-1@2h+10m");
        bo.kills.push_back(kill);
    }
    if (!o.stub.empty()) bo.stub_program = o.stub;
    bo.pace = bo.pace || o.pace;
    runner::RunOptions ro;
    ro.out = o.out.empty() ? fs::path("out") / ("bench-" + s.name) : fs::path(o.out);
    const core::TimeMs span = std::min(s.duration_ms, bo.duration_ms.value_or(s.duration_ms));
    if (!o.quiet) {
        std::cerr << "[bench] " << reports::printable(s.name) << ": " << core::format_duration(span) << " of scenario time at ×"
                  << bo.time_scale << " (about " << static_cast<long long>(static_cast<double>(span) / 1000.0 / bo.time_scale + 0.5)
                  << " s) on " << (boards_why.empty() ? std::string("host-stub boards") : reports::printable(boards_why)) << "\n";
    }
    ro.bench = std::move(bo);
    const bool tty = !o.quiet && isatty(STDERR_FILENO);
    if (tty) {
        ro.progress = [](const runner::Progress& p) {
            std::fprintf(stderr, "\r[bench] %3d%%  %s  %llu messages  %llu findings", static_cast<int>(p.fraction * 100),
                         core::format_rfc3339(p.now).substr(0, 16).c_str(), static_cast<unsigned long long>(p.messages),
                         static_cast<unsigned long long>(p.findings));
        };
    }
    ro.warn = [tty](const std::string& warning) { print_warning(tty, warning); };
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
        std::cout << "  " << reports::printable(b.device) << " (" << rig::to_string(b.type) << ", "
                  << reports::printable(b.info.board.empty() ? std::string("?") : b.info.board) << ") on " << reports::printable(b.port)
                  << ": " << c.frames << " frames, " << c.dropped() << " dropped, " << c.lost_by_sequence_gap << " lost by sequence, "
                  << b.gaps << " gaps, " << b.command_errors << " command errors\n";
        std::cout << plant_line(b);
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

    auto o = std::make_shared<BenchRunOptions>();
    CLI::App* cmd = app.add_subcommand("bench", "Replay a scenario in wall-clock time against boards, capture and judge.");
    cmd->footer("Without SCENARIO: scenarios/default.yaml on emulated boards — QEMU Cortex-M3 boards with the\n"
                "rig's Modbus plant when qemu-system-arm and the cross-built image are there, else host stubs.\n"
                "Boards: --bench BENCH.yaml maps devices to stub / qemu / serial ports (docs/bench.md);\n"
                "--board DEVICE=/dev/ttyUSB0[@115200] puts a real board in place of an emulated one.\n"
                "Faults: --kill DEVICE@2h+10m kills that board 2 h into the scenario and restarts it 10 min later.\n"
                "Exit status: 0 no findings, 1 findings, 2 bad input or a failed run. docs/bench.md.");
    cmd->add_option("scenario", o->scenario, "Scenario YAML (named devices only)")->check(CLI::ExistingFile);
    cmd->add_option("--bench", o->bench_file, "BENCH.yaml: which board runs each device, rig settings")->check(CLI::ExistingFile);
    cmd->add_option("--emulator", o->emulator, "Board for devices BENCH.yaml does not map: qemu, stub or auto "
                                               "(default: auto without SCENARIO, else BENCH.yaml's default or stub)");
    cmd->add_option("--out", o->out, "Output folder (default out/bench-<scenario name>)");
    cmd->add_option("--time-scale", o->time_scale, "Scenario seconds per wall second (1…1000; boards need cap time_scale; default: BENCH.yaml's, else 1000)");
    cmd->add_option("--duration", o->duration, "Replay only this much of the scenario (e.g. 2h)");
    cmd->add_option("--board", o->boards, "DEVICE=PORT[@BAUD]: a real board (repeatable)");
    cmd->add_option("--kill", o->kills, "DEVICE@OFFSET[+DOWN]: kill a stub or QEMU board mid-run (repeatable)");
    cmd->add_option("--stub", o->stub, "Host-stub program (default: consentrig-board next to consentrig)");
    cmd->add_option("--taxonomy", o->taxonomies, "Extra taxonomy YAML (repeatable)")->check(CLI::ExistingFile);
    cmd->add_flag("--pace", o->pace, "Pace every link at 115200 baud like a real UART");
    cmd->add_flag("--quiet", o->quiet, "No progress line");
    cmd->add_option("--list", o->list, "How many findings to list")->capture_default_str();
    cmd->callback([o, &exit_code] {
        BenchRunOptions run = *o;
        if (run.scenario.empty() && run.emulator.empty() && run.bench_file.empty()) run.emulator = "auto";
        exit_code = run_bench_command(run, "bench");
    });
}

}  // namespace consentrig::app
