// runner::run_scenario — the one run pipeline behind `consentrig run/suite/bench` and the GUI.
#include <atomic>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/scenario.hpp"
#include "core/trace.hpp"
#include "runner/run.hpp"
#include "tests/core/file_size_limit.hpp"

namespace consentrig::runner {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("consentrig-runner-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    return dir;
}

nlohmann::json read_json(const fs::path& p) {
    std::ifstream in(p);
    return nlohmann::json::parse(in);
}

std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

std::uint64_t count_records(const fs::path& trace) {
    auto src = core::open_trace(trace);
    EXPECT_TRUE(src) << (src ? "" : src.error().message);
    std::uint64_t n = 0;
    while (true) {
        auto r = (*src)->next();
        EXPECT_TRUE(r);
        if (!r || !*r) break;
        ++n;
    }
    return n;
}

/// tests/runner/space-fleet.yaml: 200 thermostats for a day, an 11.6 MB trace.
core::Scenario fleet_scenario() {
    auto s = core::load_scenario(fs::path(CONSENTRIG_SOURCE_DIR) / "tests/runner/space-fleet.yaml");
    EXPECT_TRUE(s) << (s ? "" : s.error().message);
    return s ? std::move(*s) : core::Scenario{};
}

/// The size a space warning projects ("will reach about 11.6 MB"), in bytes; 0 if none.
double projected_bytes(const std::string& warning) {
    const std::string mark = "will reach about ";
    const auto at = warning.find(mark);
    if (at == std::string::npos) return 0;
    std::size_t used = 0;
    const double value = std::stod(warning.substr(at + mark.size()), &used);
    const std::string unit = warning.substr(at + mark.size() + used, 3);
    return value * (unit == " GB" ? 1e9 : unit == " MB" ? 1e6 : unit == " kB" ? 1e3 : 1);
}

class RunnerTest : public ::testing::Test {
protected:
    void SetUp() override {
        ::setenv("CONSENTRIG_PDF", "off", 1);  // Chromium is not what this test is about
        auto s = core::load_scenario(fs::path(CONSENTRIG_SOURCE_DIR) / "scenarios/default.yaml");
        ASSERT_TRUE(s) << s.error().message;
        scenario = std::move(*s);
        auto t = load_taxonomy({});
        ASSERT_TRUE(t) << t.error().message;
        taxonomy = std::move(*t);
    }
    core::Scenario scenario;
    core::Taxonomy taxonomy;
};

TEST_F(RunnerTest, GivenTheDefaultScenario_WhenRunTwice_ThenFindingsAreByteIdenticalAndEveryFileIsWritten) {
    // GIVEN two output folders  WHEN the same scenario runs into each
    RunOptions a, b;
    a.out = fresh_dir("a");
    b.out = fresh_dir("b");
    std::uint64_t progress_calls = 0;
    a.progress = [&](const Progress&) { ++progress_calls; };
    auto ra = run_scenario(scenario, taxonomy, a);
    auto rb = run_scenario(scenario, taxonomy, b);
    ASSERT_TRUE(ra) << ra.error().message;
    ASSERT_TRUE(rb) << rb.error().message;
    // THEN the runs agree byte for byte, and the run is complete with its expectations met
    EXPECT_EQ(read_text(a.out / "findings.json"), read_text(b.out / "findings.json"));
    EXPECT_TRUE(ra->complete);
    EXPECT_FALSE(ra->cancelled);
    EXPECT_TRUE(ra->expectations_met);
    EXPECT_GT(ra->findings.size(), 0u);  // the default scenario has a leaky device
    EXPECT_GT(progress_calls, 10u);
    for (const char* f : {"trace.db", "findings.json", "run.json", "junit.xml", "report.html", "report.json", "summary.md"}) {
        EXPECT_TRUE(fs::exists(a.out / f)) << f;
    }
    EXPECT_EQ(read_json(a.out / "run.json")["complete"], true);
    EXPECT_EQ(count_records(a.out / "trace.db"), ra->records);
    fs::remove_all(a.out);
    fs::remove_all(b.out);
}

TEST_F(RunnerTest, GivenARunningScenario_WhenCancelledHalfway_ThenWhatWasCapturedIsKeptJudgedAndMarkedIncomplete) {
    // GIVEN a run that is cancelled once half the scenario time has passed
    RunOptions o;
    o.out = fresh_dir("cancel");
    std::atomic<bool> cancel{false};
    core::TimeMs cancelled_at = 0;
    o.cancel = &cancel;
    o.progress = [&](const Progress& p) {
        if (p.fraction >= 0.5 && !cancel) {
            cancel = true;
            cancelled_at = p.now;
        }
    };
    // WHEN it runs
    auto r = run_scenario(scenario, taxonomy, o);
    // THEN it stops early, keeps every record it took in the trace, and says it is incomplete
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r->cancelled);
    EXPECT_FALSE(r->complete);
    EXPECT_LT(r->replayed_to, scenario.end());
    EXPECT_LE(r->replayed_to, cancelled_at + 1);  // nothing after the cancel was taken
    EXPECT_GT(r->records, 0u);
    EXPECT_EQ(count_records(o.out / "trace.db"), r->records);
    const auto run = read_json(o.out / "run.json");
    EXPECT_EQ(run["complete"], false);
    EXPECT_TRUE(run.contains("cancelled_at"));
    EXPECT_TRUE(fs::exists(o.out / "report.html"));
    for (const auto& f : r->findings) EXPECT_LE(f.t, r->replayed_to);
    fs::remove_all(o.out);
}

TEST_F(RunnerTest, GivenLittleFreeSpace_WhenTheTraceGrows_ThenOneWarningProjectsItsSizeAndTheRunGoesOn) {
    // GIVEN an output folder whose file system has 1 MB free (a fake: the test must not fill the
    // disk), and a fleet whose trace takes 11.6 MB
    const core::Scenario fleet = fleet_scenario();
    RunOptions o;
    o.out = fresh_dir("space");
    std::vector<fs::path> asked;
    std::vector<std::string> warnings;
    o.free_space = [&](const fs::path& p) -> std::optional<std::uint64_t> {
        asked.push_back(p);
        return 1'000'000;
    };
    o.warn = [&](const std::string& w) { warnings.push_back(w); };
    // WHEN the scenario runs
    auto r = run_scenario(fleet, taxonomy, o);
    // THEN one warning names the trace, its projected size and the free space, and the run completes
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r->complete);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0].rfind((o.out / "trace.db").string() + ": at this rate the trace will reach about ", 0), 0u)
        << warnings[0];
    EXPECT_NE(warnings[0].find("but only 1.0 MB are free there"), std::string::npos) << warnings[0];
    EXPECT_NE(warnings[0].find("or split the fleet with --shard"), std::string::npos) << warnings[0];
    // and the projection, made from the first few percent of the day, is within a factor of 2.5
    // of the final size (it was 0.5: the night it saw is quieter than the day)
    const auto final_bytes = static_cast<double>(fs::file_size(o.out / "trace.db"));
    EXPECT_GT(projected_bytes(warnings[0]), final_bytes / 2.5) << warnings[0];
    EXPECT_LT(projected_bytes(warnings[0]), final_bytes * 2.5) << warnings[0];
    ASSERT_FALSE(asked.empty());
    EXPECT_EQ(asked.front(), o.out);
    fs::remove_all(o.out);
}

TEST_F(RunnerTest, GivenRoomForTheWholeTrace_WhenRun_ThenNoSpaceWarning) {
    // GIVEN a file system with a terabyte free
    const core::Scenario fleet = fleet_scenario();
    RunOptions o;
    o.out = fresh_dir("room");
    std::size_t asked = 0;
    o.free_space = [&](const fs::path&) -> std::optional<std::uint64_t> {
        ++asked;
        return std::uint64_t{1} << 40;
    };
    std::vector<std::string> warnings;
    o.warn = [&](const std::string& w) { warnings.push_back(w); };
    // WHEN the scenario runs THEN the space was looked at as the trace grew, and nothing is said
    auto r = run_scenario(fleet, taxonomy, o);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_GT(asked, 10u);
    EXPECT_TRUE(warnings.empty()) << warnings.front();
    fs::remove_all(o.out);
}

TEST_F(RunnerTest, GivenABenchRunWithLittleFreeSpace_WhenTheTraceGrows_ThenTheWarningLeavesOutShards) {
    // GIVEN the default scenario replayed for one hour on host-stub boards (real ptys, ×1000:
    // about 4 s), and 1 kB free (a fake). (Its 39 records fill a few 4 KiB pages: too few for
    // the projected size to be compared with the final one.)
    RunOptions o;
    o.out = fresh_dir("bench-space");
    rig::BenchOptions bench;
    bench.time_scale = 1000;
    bench.duration_ms = core::kMsPerHour;
    o.bench = bench;
    o.free_space = [](const fs::path&) -> std::optional<std::uint64_t> { return 1'000; };
    std::vector<std::string> warnings;
    o.warn = [&](const std::string& w) { warnings.push_back(w); };
    // WHEN it runs
    auto r = run_scenario(scenario, taxonomy, o);
    // THEN it warns once, with the bench's advice: bench runs cannot be sharded
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_TRUE(r->bench);
    EXPECT_GT(r->records, 0u);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0].rfind((o.out / "trace.db").string() + ": at this rate the trace will reach about ", 0), 0u)
        << warnings[0];
    EXPECT_NE(warnings[0].find("but only 1.0 kB are free there"), std::string::npos) << warnings[0];
    EXPECT_NE(warnings[0].find("Free space, or choose a bigger disk with --out."), std::string::npos) << warnings[0];
    EXPECT_EQ(warnings[0].find("--shard"), std::string::npos) << warnings[0];
    fs::remove_all(o.out);
}

TEST_F(RunnerTest, GivenADiskThatFillsMidRun_WhenRun_ThenTheErrorSaysHowToJudgeWhatTheTraceKept) {
    // GIVEN no file may grow past 160 KiB (the default scenario's trace is about 290 KiB)
    RunOptions o;
    o.out = fresh_dir("full");
    std::optional<core::Result<RunOutcome>> r;
    {
        testing::FileSizeLimit limit(160 * 1024);
        ASSERT_TRUE(limit.ok());
        // WHEN the scenario runs
        r = run_scenario(scenario, taxonomy, o);
    }
    // THEN it fails naming the file that could not grow (the trace or the findings' spill file,
    // whichever fills first) and what the OS said, and says how to judge what the trace kept
    ASSERT_FALSE(*r);
    const std::string& m = r->error().message;
    const std::string trace = (o.out / "trace.db").string();
    EXPECT_EQ(m.rfind(o.out.string() + "/", 0), 0u) << m;
    EXPECT_NE(m.find("File too large"), std::string::npos) << m;
    EXPECT_NE(m.find(trace + " keeps every record committed before this error; `consentrig report --scenario " +
                     scenario.file + " --out <a folder with room> " + trace + "`"),
              std::string::npos)
        << m;
    // and the trace it kept can be read to its end
    auto src = core::open_trace(o.out / "trace.db");
    ASSERT_TRUE(src) << src.error().message;
    core::Record rec;
    auto more = (*src)->next(rec);
    while (more && *more) more = (*src)->next(rec);
    EXPECT_TRUE(more) << more.error().message;
    fs::remove_all(o.out);
}

TEST_F(RunnerTest, GivenAShardThatDoesNotExist_WhenRun_ThenTheErrorSaysOnlyThat) {
    // GIVEN shard 3 of 2  WHEN the scenario runs
    RunOptions o;
    o.out = fresh_dir("shard");
    o.shard = sim::Shard{3, 2};
    auto r = run_scenario(scenario, taxonomy, o);
    // THEN the error is the simulator's alone: nothing was captured, so there is no trace to judge
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "shard 3/2 is not valid (want i/N with 0 ≤ i < N)");
    fs::remove_all(o.out);
}

TEST_F(RunnerTest, GivenAnOutputPathThatIsAFile_WhenRun_ThenAnErrorNamesIt) {
    // GIVEN a file where the output folder should be
    const fs::path file = fresh_dir("file");
    std::ofstream(file) << "x";
    RunOptions o;
    o.out = file / "sub";
    // WHEN the scenario runs THEN the error names the path
    auto r = run_scenario(scenario, taxonomy, o);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(o.out.string()), std::string::npos) << r.error().message;
    fs::remove(file);
}

}  // namespace
}  // namespace consentrig::runner
