#include "runner/run.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <system_error>

#include <nlohmann/json.hpp>

#include "core/oracle.hpp"
#include "core/scenario.hpp"
#include "core/trace.hpp"
#include "reports/escape.hpp"
#include "reports/junit.hpp"
#include "reports/model.hpp"
#include "reports/write.hpp"
#include "sim/rng.hpp"

namespace consentrig::runner {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

/// A bench run commits at least this often, so a killed rig loses at most this much capture.
constexpr auto kBenchCommitEvery = std::chrono::milliseconds(200);
/// …or this many records, whichever comes first.
constexpr std::size_t kBenchBatchRecords = 64;

const core::Error kCancelled{"cancelled"};

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
    if (info.contains("complete") && info["complete"] == false) {
        r.incomplete_to = core::parse_rfc3339(str(info, "replayed_to")).value_or(r.end.value_or(0));
    }
    static const std::set<std::string> kKnown = {"scenario", "description", "file", "scenario_sha256", "seed",
                                                 "consentrig_version", "source", "trace", "policy", "command",
                                                 "seconds", "shard", "start", "end", "complete", "replayed_to"};
    for (const auto& [k, v] : info.items()) {
        if (!kKnown.contains(k)) r.extra[k] = v;
    }
    return r;
}

nlohmann::json percentiles_json(const rig::Percentiles& p) {
    return {{"count", p.count}, {"p50_us", p.p50_us}, {"p99_us", p.p99_us}, {"max_us", p.max_us}};
}

nlohmann::json counters_json(const rig::FrameCounters& c) {
    return {{"bytes", c.bytes},       {"frames", c.frames},         {"bad_crc", c.bad_crc},
            {"bad_cobs", c.bad_cobs}, {"oversize", c.oversize},     {"runt", c.runt},
            {"bad_json", c.bad_json}, {"bad_version", c.bad_version}, {"lost_by_sequence_gap", c.lost_by_sequence_gap},
            {"unknown_type", c.unknown_type}};
}

/// The rig's facts for run.json: timings, boards with identities and frame counters.
void add_bench_facts(const rig::BenchStats& stats, nlohmann::json& run) {
    run["time_scale"] = stats.time_scale;
    run["replayed"] = {{"from", core::format_rfc3339(stats.start)}, {"to", core::format_rfc3339(stats.end)}};
    run["logs"] = stats.logs;
    run["reordered"] = stats.reordered;
    run["stimulus_lateness"] = percentiles_json(stats.lateness);
    run["stimulus_scheduling"] = stats.scheduling;
    run["capture_delay"] = percentiles_json(stats.capture_uncertainty);
    run["warnings"] = stats.warnings;
    nlohmann::json boards = nlohmann::json::array();
    for (const auto& b : stats.boards) {
        nlohmann::json plant;  // null without a plant
        if (b.plant) {
            const auto& p = *b.plant;
            plant = {{"link", b.plant_link}, {"room_c", p.room_c}, {"sensor_c", p.sensor_c}, {"outdoor_c", p.outdoor_c},
                     {"heat", p.heat}, {"cool", p.cool}, {"requests", p.counters.requests}, {"replies", p.counters.replies},
                     {"exceptions", p.counters.exceptions}, {"dropped", p.counters.dropped}, {"coil_writes", p.counters.coil_writes}};
        }
        boards.push_back({{"device", b.device},
                          {"type", rig::to_string(b.type)},
                          {"plant", plant},
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
}

/// Stores a record, then hands it to the oracle; refuses once the run is cancelled.
class Capture {
public:
    Capture(core::TraceStore& store, core::Oracle& oracle, const core::FindingList& findings,
            const std::atomic<bool>* cancel, bool bench)
        : store_(store), oracle_(oracle), findings_(findings), cancel_(cancel), bench_(bench) {}

    core::Status write(const core::Record& r) {
        if (cancel_ && cancel_->load(std::memory_order_relaxed)) {
            cancelled_ = true;
            return kCancelled;
        }
        if (auto st = store_.append(r); !st) return st;
        if (bench_ && Clock::now() - last_commit_ > kBenchCommitEvery) {
            if (auto st = store_.commit(); !st) return st;
            last_commit_ = Clock::now();
        }
        last_t_ = std::max(last_t_, r.t);
        ++records_;
        if (r.kind == core::RecordKind::egress) ++messages_;
        if (auto st = oracle_.feed(r); !st) return st;
        return findings_.status();  // the findings' spill file is full: stop, keep the trace
    }
    [[nodiscard]] bool cancelled() const { return cancelled_; }
    [[nodiscard]] core::TimeMs last_t() const { return last_t_; }
    [[nodiscard]] std::uint64_t records() const { return records_; }
    [[nodiscard]] std::uint64_t messages() const { return messages_; }

private:
    core::TraceStore& store_;
    core::Oracle& oracle_;
    const core::FindingList& findings_;
    const std::atomic<bool>* cancel_;
    bool bench_;
    bool cancelled_ = false;
    core::TimeMs last_t_ = 0;
    std::uint64_t records_ = 0;
    std::uint64_t messages_ = 0;
    Clock::time_point last_commit_ = Clock::now();
};

class SimSink final : public sim::RecordSink {
public:
    explicit SimSink(Capture& capture) : capture_(capture) {}
    core::Status write(const core::Record& r) override { return capture_.write(r); }

private:
    Capture& capture_;
};

}  // namespace

core::Result<core::Taxonomy> load_taxonomy(const std::vector<std::string>& extra) {
    auto taxonomy = core::Taxonomy::builtin();
    if (!taxonomy) return core::Error{"built-in taxonomy: " + taxonomy.error().message};
    for (const auto& file : extra) {
        if (auto st = taxonomy->merge_file(file); !st) return st.error();
    }
    return taxonomy;
}

std::string dump_json(const nlohmann::json& j) {
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

core::Status write_file(const fs::path& path, const std::function<core::Status(std::ostream&)>& write) {
    std::error_code ec;
    // A device or pipe (`--json /dev/stdout`) is written in place: renaming over it would
    // replace it with a regular file.
    if (const auto st = fs::status(path, ec); !ec && fs::exists(st) && !fs::is_regular_file(st)) {
        std::ofstream out(path, std::ios::binary);
        if (!out) return core::Error{path.string() + ": cannot write: " + std::error_code(errno, std::generic_category()).message()};
        if (auto written = write(out); !written) return core::Error{path.string() + ": " + written.error().message};
        if (!out.flush()) return core::Error{path.string() + ": write failed: " + std::error_code(errno, std::generic_category()).message()};
        return {};
    }
    if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
    const fs::path tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) return core::Error{path.string() + ": cannot write: " + std::error_code(errno, std::generic_category()).message()};
        if (auto st = write(out); !st) {
            out.close();
            fs::remove(tmp, ec);
            return core::Error{path.string() + ": " + st.error().message};
        }
        if (!out.flush()) return core::Error{path.string() + ": write failed"};
    }
    fs::rename(tmp, path, ec);
    if (ec) return core::Error{path.string() + ": cannot write: " + ec.message()};
    return {};
}

core::Status write_file(const fs::path& path, std::string_view content) {
    return write_file(path, [content](std::ostream& out) -> core::Status {
        out.write(content.data(), static_cast<std::streamsize>(content.size()));
        return {};
    });
}

core::Status write_findings_file(const fs::path& path, const core::FindingList& findings, const nlohmann::json& head) {
    return write_file(path, [&](std::ostream& out) { return core::write_findings_json(findings, head, out); });
}

core::Status write_reports(const nlohmann::json& info, const core::Policy& policy, const core::Taxonomy& taxonomy,
                           const core::Oracle* oracle, const core::FindingList& findings, const fs::path& trace,
                           const core::Scenario* scenario, const fs::path& out) {
    reports::ReportInput in;
    in.policy = &policy;
    in.taxonomy = &taxonomy;
    in.oracle = oracle;
    in.findings = &findings;
    in.trace = trace;
    in.info = run_info(info);
    if (in.info.trace.empty()) in.info.trace = trace.string();
    reports::JudgedTrace judged;
    if (!oracle) {
        // `check` keeps no oracle: judge the trace again (same rules, same findings).
        reports::JudgeOptions jo;
        if (scenario) jo.end = scenario->end();
        jo.keep_findings = false;  // the caller has them
        auto j = reports::judge_trace(policy, taxonomy, trace, jo);
        if (!j) return j.error();
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
        in.info.expectations.met =
            core::check_expectations(scenario->expect, findings.heads(), &in.info.expectations.problems).ok();
    }
    auto report = reports::build_report(in);
    if (!report) return report.error();
    auto written = reports::write_reports(*report, out);
    if (!written) return written.error();
    if (!written->pdf_note.empty()) std::cerr << "consentrig: " << reports::printable(written->pdf_note, true) << "\n";
    if (const char* t = std::getenv("CONSENTRIG_REPORT_TIMES"); t && *t && std::string(t) != "0") {
        std::fprintf(stderr, "consentrig: report model %.2f s, report.html %.2f s, report.json %.2f s, report.pdf %.2f s\n",
                     report->build_seconds, written->html_seconds, written->json_seconds, written->pdf_seconds);
    }
    return {};
}

std::optional<std::uint64_t> os_free_space(const fs::path& path) {
    std::error_code ec;
    const auto info = fs::space(path, ec);
    if (ec) return std::nullopt;
    return info.available;
}

namespace {

/// Decimal units, as disk sizes are sold and `df -H` prints them.
std::string size_text(std::uint64_t bytes) {
    constexpr double kKb = 1e3, kMb = 1e6, kGb = 1e9;
    const auto b = static_cast<double>(bytes);
    char buf[32];
    if (b >= kGb) {
        std::snprintf(buf, sizeof buf, "%.1f GB", b / kGb);
    } else if (b >= kMb) {
        std::snprintf(buf, sizeof buf, "%.1f MB", b / kMb);
    } else if (b >= kKb) {
        std::snprintf(buf, sizeof buf, "%.1f kB", b / kKb);
    } else {
        std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
    }
    return buf;
}

/// Projects trace.db's size at the end of the scenario from its growth so far and warns once
/// when that, with the write-ahead log beside it while the run lasts, would not fit in what is
/// left (docs/cli.md, "Disk space"). The trace's size is SQLite's count of the pages in use,
/// not the files': the log holds pages rewritten commit after commit until it is folded into
/// the file (a 12-hour bench replay's small batches made the two files 28 times the trace it
/// ended as, early on). The growth is measured from the start, not between two looks: the size
/// moves a batch at a time (1,024 records in a simulation), too coarse for one 1 % step.
class SpaceWatch {
public:
    SpaceWatch(const RunOptions& o, const core::TraceStore& store)
        : o_(o), store_(store), empty_(store.committed_bytes()) {}

    void at(double fraction) {
        if (warned_ || !o_.warn || !o_.free_space || fraction < kFirstLook || fraction >= 1) return;
        const std::uint64_t written = store_.committed_bytes();
        if (written <= empty_) return;
        const auto free = o_.free_space(o_.out);
        if (!free) return;
        // The empty trace (schema, meta) is there from the start; what grows, grows with time.
        const auto projected = empty_ + static_cast<std::uint64_t>(static_cast<double>(written - empty_) / fraction);
        // The log grows with every commit until it reaches SQLite's limit and is folded into the
        // file, then is reused at that size: it peaks at its growth carried on, or at the limit.
        const std::uint64_t wal = file_size(o_.out / "trace.db-wal");
        const std::uint64_t wal_peak = std::max(
            wal, std::min(store_.wal_limit_bytes(), static_cast<std::uint64_t>(static_cast<double>(wal) / fraction)));
        const std::uint64_t on_disk = file_size(o_.out / "trace.db") + wal;
        const std::uint64_t peak = projected + wal_peak;
        if (peak <= on_disk || peak - on_disk <= *free) return;
        warned_ = true;
        o_.warn((o_.out / "trace.db").string() + ": at this rate the trace will reach about " + size_text(projected) +
                " by the end of the scenario (" + size_text(written) + " written in the first " +
                std::to_string(static_cast<int>(fraction * 100)) + " % of its time), and its write-ahead log takes up to " +
                size_text(wal_peak) + " more while the run lasts, but only " + size_text(*free) +
                " are free there. The run goes on; if the disk fills up it stops with an error and keeps every "
                "record committed so far. " +
                (o_.bench ? "Free space, or choose a bigger disk with --out."
                          : "Free space, choose a bigger disk with --out, or split the fleet with --shard "
                            "(docs/scale-out.md)."));
    }

private:
    [[nodiscard]] static std::uint64_t file_size(const fs::path& p) {
        std::error_code ec;
        const auto size = fs::file_size(p, ec);
        return ec ? 0 : size;
    }
    /// The first few percent of scenario time say too little about the rest.
    static constexpr double kFirstLook = 0.02;
    const RunOptions& o_;
    const core::TraceStore& store_;
    const std::uint64_t empty_;  ///< the trace's size before its first record
    bool warned_ = false;
};

}  // namespace

core::Result<RunOutcome> run_scenario(const core::Scenario& s, const core::Taxonomy& taxonomy, const RunOptions& o) {
    const auto started = Clock::now();
    const bool bench = o.bench.has_value();
    RunOutcome outcome;
    outcome.out = o.out;
    std::error_code ec;
    fs::create_directories(o.out, ec);
    if (ec) return core::Error{o.out.string() + ": cannot create: " + ec.message()};
    // A new run replaces the previous run's trace in the same folder.
    for (const char* f : {"trace.db", "trace.db-wal", "trace.db-shm", "board-log.jsonl"}) fs::remove(o.out / f, ec);
    auto store = core::TraceStore::create(o.out / "trace.db");
    if (!store) return store.error();
    // Bench: small batches, so a killed rig loses at most the last few records.
    if (bench) store->set_batch(kBenchBatchRecords);
    const core::TraceMeta meta = bench ? rig::bench_meta(s) : sim::fleet_meta(s);
    if (auto st = store->write_meta(meta); !st) return st.error();
    // "not complete" until the run ends cleanly: a rig killed mid-run leaves a trace that says so
    // (docs/trace.md), and `consentrig report` marks its report incomplete.
    if (auto st = store->put_meta("complete", "false"); !st) return st.error();

    core::Oracle oracle(s.policy, taxonomy);
    oracle.begin(meta);
    // Findings go to a spill file in the output folder as they are made: a leaky fleet's
    // evidence would not fit in memory (core/finding_list.hpp).
    auto spilled = core::FindingList::on_disk(o.out);
    if (!spilled) return spilled.error();
    core::FindingList& findings = *spilled;
    oracle.set_sink([&](core::Finding&& f) { (void)findings.push_back(std::move(f)); });  // errors: findings.status()
    Capture capture(*store, oracle, findings, o.cancel, bench);

    SpaceWatch space(o, *store);
    // A run that stops on an error keeps what it captured: the store's destructor commits the last
    // batch, and the trace's meta still says "complete": "false". Once it has captured something
    // the error says how to use it (not for a scenario refused before it starts).
    auto stopped = [&](const core::Error& e) {
        if (capture.records() == 0) return e;
        const std::string trace = (o.out / "trace.db").string();
        return core::Error{e.message + ". " + trace +
                           " keeps every record committed before this error; `consentrig report --scenario " + s.file +
                           " --out <a folder with room> " + trace +
                           "` judges them and writes findings.json and the reports (marked incomplete)"};
    };
    Progress last;  ///< the latest progress sent, repeated with what is being written
    auto writing = [&](std::string_view what) {
        last.findings = outcome.findings.size();
        last.writing = what;
        if (o.progress) o.progress(last);
    };

    core::TimeMs end = s.end();
    if (bench) {
        rig::BenchOptions bo = *o.bench;
        bo.work_dir = o.out / "boards";
        bo.progress = [&](const rig::BenchProgress& p) {
            space.at(p.fraction);
            last = Progress{p.fraction, p.scenario_now, 0, p.messages, findings.size(), {}};
            if (o.progress) o.progress(last);
        };
        std::ofstream log_file(o.out / "board-log.jsonl", std::ios::trunc);
        const rig::LogSink logs = [&](const std::string& device, const rig::Capture& c) {
            nlohmann::json j{{"device", device}, {"arrival", core::format_rfc3339(c.arrival_ms)}, {"level", c.level}, {"msg", c.msg}};
            if (c.board_ms) j["t"] = *c.board_ms;
            log_file << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        };
        auto stats = rig::run_bench(s, [&](const core::Record& r) { return capture.write(r); }, bo, logs);
        if (!stats && !capture.cancelled()) return stopped(stats.error());
        if (stats) {
            end = stats->end;
            outcome.device_count = stats->boards.size();
            outcome.messages = stats->messages;
            outcome.records = stats->records;
            outcome.bench = std::move(*stats);
        }
    } else {
        sim::FleetOptions fo;
        fo.seed = o.seed;
        fo.shard = o.shard;
        fo.progress = [&](const sim::FleetProgress& p) {
            space.at(p.fraction);
            last = Progress{p.fraction, p.now, p.devices, p.messages, findings.size(), {}};
            if (o.progress) o.progress(last);
        };
        SimSink sink(capture);
        auto stats = sim::run_fleet(s, sink, fo);
        if (!stats && !capture.cancelled()) return stopped(stats.error());
        if (stats) {
            outcome.device_count = stats->devices;
            outcome.events = stats->events;
            outcome.messages = stats->messages;
            outcome.records = stats->records;
            outcome.fleet = *stats;
        }
    }
    outcome.cancelled = capture.cancelled();
    if (outcome.cancelled) end = capture.last_t() + 1;
    outcome.replayed_to = end;
    outcome.complete = end == s.end();
    for (const auto& [key, value] : {std::pair<const char*, std::string>{"complete", outcome.complete ? "true" : "false"},
                                     {"replayed_to", core::format_rfc3339(end)}}) {
        if (auto st = store->put_meta(key, value); !st) return st.error();
    }
    if (auto st = store->commit(); !st) return stopped(st.error());
    (void)oracle.finish(end);  // the sink gets the last findings
    if (!findings.status()) return stopped(findings.status().error());
    findings.sort();
    outcome.findings = std::move(findings);
    outcome.devices = oracle.devices();
    if (outcome.cancelled) {
        outcome.messages = capture.messages();
        outcome.records = capture.records();
    }
    outcome.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    if (outcome.complete) {
        outcome.expectations_met =
            core::check_expectations(s.expect, outcome.findings.heads(), &outcome.expectation_problems).ok();
    }

    // findings.json is deterministic (same scenario + seed ⇒ same bytes, also after merge);
    // run-specific facts (shard, timings, boards) go to run.json.
    const std::uint64_t seed = o.seed.value_or(s.seed);
    nlohmann::json head;
    head["scenario"] = s.name;
    head["scenario_sha256"] = s.sha256;
    head["seed"] = seed;
    head["source"] = bench ? "bench" : "sim";
    nlohmann::json run;
    run["scenario"] = s.name;
    run["file"] = s.file;
    run["scenario_sha256"] = s.sha256;
    run["seed"] = seed;
    if (bench) run["source"] = "bench";
    run["consentrig_version"] = CONSENTRIG_VERSION;
    if (!bench) run["shard"] = {{"index", o.shard.index}, {"count", o.shard.count}};
    run["devices"] = outcome.device_count;
    if (!bench) run["events"] = outcome.events;
    run["messages"] = outcome.messages;
    run["records"] = outcome.records;
    run["seconds"] = outcome.seconds;
    run["complete"] = outcome.complete;
    if (outcome.cancelled) run["cancelled_at"] = core::format_rfc3339(end);
    if (!outcome.complete) run["replayed_to"] = core::format_rfc3339(end);
    if (outcome.bench) add_bench_facts(*outcome.bench, run);
    if (outcome.fleet) {
        run["network"] = {{"retransmissions", outcome.fleet->retransmissions},
                          {"attempts_lost", outcome.fleet->attempts_lost},
                          {"messages_dropped", outcome.fleet->messages_dropped}};
    }
    writing("findings.json");
    if (auto st = write_findings_file(o.out / "findings.json", outcome.findings, head); !st) return st.error();
    if (auto st = write_file(o.out / "run.json", dump_json(run)); !st) return st.error();
    const std::vector<reports::JunitSuite> suite{{s.name, outcome.devices, &outcome.findings, outcome.seconds}};
    if (auto st = write_file(o.out / "junit.xml", [&](std::ostream& out) { return reports::write_junit_xml(suite, out); }); !st) {
        return st.error();
    }
    run["command"] = bench ? "bench" : "run";
    writing("reports");
    if (auto st = write_reports(run, s.policy, taxonomy, &oracle, outcome.findings, o.out / "trace.db", &s, o.out); !st) {
        return st.error();
    }
    return outcome;
}

}  // namespace consentrig::runner
