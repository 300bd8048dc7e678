// `consentrig run`, `check --out` and `report` write the reports, as a user runs them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../e2e/process.hpp"
#include "support.hpp"

namespace {

using consentrig::reports::testing::read_text;
using consentrig::reports::testing::test_dir;
using ::testing::HasSubstr;
namespace fs = std::filesystem;
namespace proc = consentrig::testing;

const std::string kSource = CONSENTRIG_SOURCE_DIR;
const std::vector<std::string> kNoPdf = {"CONSENTRIG_PDF=off"};

class ReportCli : public ::testing::Test {
protected:
    void SetUp() override { dir_ = test_dir(); }
    void TearDown() override {
        std::error_code ec;
        if (!HasFailure()) fs::remove_all(dir_, ec);
    }
    fs::path dir_;
    const std::string exe_ = proc::built_program("consentrig");
};

TEST_F(ReportCli, GivenDefaultRun_WhenRebuiltFromItsTrace_ThenSameFindingsAndSameReport) {
    const auto run = proc::run_process({exe_, "run", kSource + "/scenarios/default.yaml", "--out", (dir_ / "run").string(), "--quiet"},
                                       {}, kNoPdf);
    ASSERT_EQ(run.exit_code, 1) << run.err;
    EXPECT_THAT(run.out, HasSubstr("report.html"));
    for (const char* f : {"report.html", "report.json", "summary.md", "findings.json", "junit.xml", "run.json", "trace.db"}) {
        EXPECT_TRUE(fs::exists(dir_ / "run" / f)) << f;
    }
    EXPECT_FALSE(fs::exists(dir_ / "run" / "report.pdf"));  // CONSENTRIG_PDF=off
    const auto report = nlohmann::json::parse(read_text(dir_ / "run" / "report.json"));
    EXPECT_EQ(report["verdict"], "FAIL");
    EXPECT_EQ(report["metadata"]["scenario"], "default");
    EXPECT_EQ(report["metadata"]["source"], "sim");
    EXPECT_EQ(report["metadata"]["seed"], 7);
    EXPECT_EQ(report["metadata"]["expectations"]["met"], true);
    EXPECT_EQ(report["aggregates"]["by_profile"]["proactive"]["with_findings"], 1);
    EXPECT_EQ(report["timelines"].size(), 2u);
    EXPECT_THAT(read_text(dir_ / "run" / "summary.md"), HasSubstr("## consentrig: default — FAIL"));
    if (fs::exists("/usr/bin/xmllint")) {  // scripts/bootstrap installs libxml2-utils
        const auto lint = proc::run_process({"/usr/bin/xmllint", "--noout", (dir_ / "run" / "junit.xml").string()});
        EXPECT_EQ(lint.exit_code, 0) << lint.err;
    }

    // Rebuild from the stored trace alone (the scenario comes from run.json next to it).
    const auto rebuilt = proc::run_process({exe_, "report", (dir_ / "run" / "trace.db").string(), "--out", (dir_ / "again").string()},
                                           {}, kNoPdf);
    ASSERT_EQ(rebuilt.exit_code, 1) << rebuilt.err;
    // Byte-identical (compared as a bool: a failing EXPECT_EQ would diff megabytes).
    EXPECT_TRUE(read_text(dir_ / "again" / "findings.json") == read_text(dir_ / "run" / "findings.json"));
    const auto again = nlohmann::json::parse(read_text(dir_ / "again" / "report.json"));
    EXPECT_EQ(again["summary"], report["summary"]);
    EXPECT_EQ(again["provisions"], report["provisions"]);
    EXPECT_TRUE(again["timelines"] == report["timelines"]);
    EXPECT_TRUE(again["coverage"] == report["coverage"]);
    EXPECT_TRUE(again["findings"] == report["findings"]);
    EXPECT_EQ(again["metadata"]["command"], "report");
    // The run's own facts (run.json next to the trace) come along.
    EXPECT_EQ(again["metadata"]["extra"], report["metadata"]["extra"]);
    EXPECT_EQ(again["metadata"]["extra"]["devices"], 2);
    EXPECT_EQ(again["metadata"]["seconds"], report["metadata"]["seconds"]);
}

TEST_F(ReportCli, GivenCheckWithOut_WhenRun_ThenReportsAreWritten) {
    const auto r = proc::run_process({exe_, "check", kSource + "/examples/policy.yaml", kSource + "/examples/trace.jsonl", "--out",
                                      (dir_ / "check").string(), "--json", (dir_ / "findings.json").string()},
                                     {}, kNoPdf);
    ASSERT_EQ(r.exit_code, 1) << r.err;
    const auto report = nlohmann::json::parse(read_text(dir_ / "check" / "report.json"));
    const auto findings = nlohmann::json::parse(read_text(dir_ / "findings.json"));
    EXPECT_EQ(report["verdict"], "FAIL");
    EXPECT_EQ(report["metadata"]["command"], "check");
    EXPECT_EQ(report["metadata"]["scenario"], "example-home");
    ASSERT_EQ(report["findings"].size(), findings["findings"].size());
    for (std::size_t i = 0; i < findings["findings"].size(); ++i) {
        auto f = report["findings"][i];
        f.erase("id");
        f.erase("provisions");
        EXPECT_TRUE(f == findings["findings"][i]) << i;
    }
    EXPECT_TRUE(fs::exists(dir_ / "check" / "report.html"));
    EXPECT_TRUE(fs::exists(dir_ / "check" / "summary.md"));
}

TEST_F(ReportCli, GivenPolicyAndJsonlTrace_WhenReported_ThenFindingsMatchCheck) {
    const auto check = proc::run_process({exe_, "check", kSource + "/examples/policy.yaml", kSource + "/examples/trace.jsonl",
                                          "--json", (dir_ / "check.json").string()});
    ASSERT_EQ(check.exit_code, 1) << check.err;
    const auto r = proc::run_process({exe_, "report", kSource + "/examples/trace.jsonl", "--policy", kSource + "/examples/policy.yaml",
                                      "--out", (dir_ / "rep").string()},
                                     {}, kNoPdf);
    ASSERT_EQ(r.exit_code, 1) << r.err;
    EXPECT_TRUE(nlohmann::json::parse(read_text(dir_ / "rep" / "findings.json"))["findings"] ==
                nlohmann::json::parse(read_text(dir_ / "check.json"))["findings"]);
    for (const char* f : {"report.html", "report.json", "summary.md", "junit.xml"}) EXPECT_TRUE(fs::exists(dir_ / "rep" / f)) << f;
}

TEST_F(ReportCli, GivenTraceWithoutPolicy_WhenReported_ThenExit2WithAPlainMessage) {
    const auto r = proc::run_process({exe_, "report", kSource + "/examples/trace.jsonl", "--out", (dir_ / "rep").string()}, {}, kNoPdf);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("give --policy or --scenario"));
}

}  // namespace
