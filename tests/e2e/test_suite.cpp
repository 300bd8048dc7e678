// The shipped scenario suite (scenarios/*.yaml) end to end, as CI runs it: `consentrig suite`
// passes with a well-formed JUnit report, a leaky scenario's findings carry complete evidence,
// runs are deterministic, and four shards merged equal one process byte for byte.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "process.hpp"

namespace fs = std::filesystem;
using consentrig::testing::built_program;
using consentrig::testing::run_process;
using ::testing::HasSubstr;

namespace {

const fs::path kScenarios = fs::path(CONSENTRIG_SOURCE_DIR) / "scenarios";

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<fs::path> scenario_files() {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(kScenarios)) {
        const auto ext = e.path().extension();
        if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(e.path());
    }
    return files;
}

/// Every value of attribute `attr` on `<tag …>` elements, in document order.
std::vector<std::string> attribute_values(const std::string& xml, const std::string& tag, const std::string& attr) {
    std::vector<std::string> out;
    const std::regex element("<" + tag + "\\b[^>]*>");
    const std::regex value("\\b" + attr + "=\"([^\"]*)\"");
    for (auto it = std::sregex_iterator(xml.begin(), xml.end(), element); it != std::sregex_iterator(); ++it) {
        std::smatch m;
        const std::string text = it->str();
        if (std::regex_search(text, m, value)) out.push_back(m[1]);
    }
    return out;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
    return n;
}

class ScenarioSuite : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("consentrig-suite-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
                std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    /// `consentrig run SCENARIO --out OUT --quiet [extra…]`; exit 0 (clean) or 1 (findings) only.
    void run(const fs::path& scenario, const fs::path& out, const std::vector<std::string>& extra = {}) {
        std::vector<std::string> argv = {exe_, "run", scenario.string(), "--out", out.string(), "--quiet"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        const auto r = run_process(argv);
        ASSERT_LE(r.exit_code, 1) << r.out << r.err;
    }

    fs::path dir_;
    const std::string exe_ = built_program("consentrig");
};

}  // namespace

TEST_F(ScenarioSuite, GivenShippedScenarios_WhenSuiteRuns_ThenExit0AndJunitHasOnePassingTestcasePerScenario) {
    const auto files = scenario_files();
    ASSERT_GE(files.size(), 10U) << "the suite ships at least ten scenarios";
    const fs::path junit = dir_ / "junit.xml";
    const auto r = run_process({exe_, "suite", kScenarios.string(), "--out", (dir_ / "out").string(), "--junit", junit.string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr(std::to_string(files.size()) + " passed, 0 failed, 0 errors"));

    // Well-formed XML, as a CI server reads it.
    const auto lint = run_process({"/usr/bin/xmllint", "--noout", junit.string()});
    EXPECT_EQ(lint.exit_code, 0) << lint.err;

    // One testcase per scenario file, each named once, none failed or in error.
    const std::string xml = slurp(junit);
    const auto names = attribute_values(xml, "testcase", "name");
    EXPECT_EQ(names.size(), files.size()) << xml;
    EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size()) << "scenario names must be unique";
    EXPECT_EQ(attribute_values(xml, "testsuite", "tests"), std::vector<std::string>{std::to_string(files.size())});
    EXPECT_EQ(attribute_values(xml, "testsuite", "failures"), std::vector<std::string>{"0"});
    EXPECT_EQ(attribute_values(xml, "testsuite", "errors"), std::vector<std::string>{"0"});
    EXPECT_EQ(count_of(xml, "<failure"), 0U) << xml;
    EXPECT_EQ(count_of(xml, "<error"), 0U) << xml;
    for (const char* name : {"default", "fleet-housing-association", "flush-after-unlink"}) {
        EXPECT_THAT(names, ::testing::Contains(std::string(name)));
    }

    // A leaky scenario, judged inside the suite: flush-after-unlink finds exactly the queued
    // reports that the flush_after_revoke firmware sent after the customer unlinked the voice
    // assistant — one message per device, one finding per category it carries — each with its
    // complete evidence.
    const auto j = nlohmann::json::parse(slurp(dir_ / "out" / "flush-after-unlink" / "findings.json"));
    EXPECT_EQ(j["scenario"], "flush-after-unlink");
    EXPECT_EQ(j["summary"]["after_revocation"], 9);
    EXPECT_EQ(j["summary"]["total"], 9);
    std::map<std::string, std::set<std::string>> categories;
    for (const auto& f : j["findings"]) {
        SCOPED_TRACE(f.dump());
        EXPECT_EQ(f["type"], "after_revocation");
        EXPECT_EQ(f["recipient"], "voice-partner");
        EXPECT_EQ(f["t"], "2026-01-24T09:47:05.000Z");  // the reconnect: 10:47:05 Berlin
        categories[f["device"].get<std::string>()].insert(f["category"].get<std::string>());

        const auto& e = f["evidence"];
        ASSERT_TRUE(e.is_object());
        EXPECT_EQ(e["format"], "alexa");
        EXPECT_EQ(e["message"]["event"]["header"]["name"], "ChangeReport");
        EXPECT_EQ(e["message"]["event"]["endpoint"]["endpointId"], f["device"]);
        EXPECT_EQ(e["sent"], f["t"]);
        EXPECT_EQ(e["sampled"], "2026-01-24T09:47:05.000Z");
        EXPECT_THAT(e["reason"].get<std::string>(), HasSubstr("unlinked"));
        bool field_of_category = false;
        for (const auto& field : e["fields"]) {
            EXPECT_TRUE(field.contains("path") && field.contains("key") && field.contains("value") &&
                        field.contains("sample_time"));
            field_of_category |= field["category"] == f["category"];
        }
        EXPECT_TRUE(field_of_category) << "the decoded field of the finding's category is in the evidence";
        const auto& consent = e["consent_at_send"];
        EXPECT_EQ(consent["linked"], false);
        EXPECT_EQ(consent["unlinked_at"], "2026-01-24T09:03:17.000Z");  // 10:03:17 Berlin
        ASSERT_EQ(consent["grants"].size(), 1U);
        EXPECT_EQ(consent["grants"][0]["basis"], "schedule");
        EXPECT_THAT(consent["grants"][0]["where"].get<std::string>(), HasSubstr("flush-after-unlink.yaml:"));
    }
    EXPECT_EQ(categories["thermo-1"], (std::set<std::string>{"temperature", "setpoint", "hvac_mode", "hvac_state",
                                                              "occupancy", "connectivity"}));
    EXPECT_EQ(categories["lock-1"], (std::set<std::string>{"lock_state", "door_state", "battery"}));
    EXPECT_EQ(categories.size(), 2U) << "the compliant neighbours thermo-2 and lock-2 stay clean";

    // A clean scenario really is clean.
    const auto clean = nlohmann::json::parse(slurp(dir_ / "out" / "compliant-schedule-dst" / "findings.json"));
    EXPECT_TRUE(clean["findings"].empty());
    EXPECT_EQ(clean["summary"]["total"], 0);
}

TEST_F(ScenarioSuite, GivenSameScenario_WhenRunTwice_ThenFindingsJsonIsByteIdentical) {
    // A side-channel verdict (statistics with floating-point evidence) and per-category leaks
    // over every wire format the scenarios use.
    for (const char* name : {"keepalive-side-channel", "unconsented-insurer", "store-and-forward-overnight"}) {
        SCOPED_TRACE(name);
        const fs::path scenario = kScenarios / (std::string(name) + ".yaml");
        ASSERT_NO_FATAL_FAILURE(run(scenario, dir_ / name / "first"));
        ASSERT_NO_FATAL_FAILURE(run(scenario, dir_ / name / "second"));
        const std::string first = slurp(dir_ / name / "first" / "findings.json");
        EXPECT_THAT(first, HasSubstr("\"evidence\""));
        EXPECT_EQ(first, slurp(dir_ / name / "second" / "findings.json"));
    }
}

TEST_F(ScenarioSuite, GivenFleetScenario_WhenRunInFourShardsAndMerged_ThenFindingsEqualOneProcessByteForByte) {
    const fs::path scenario = kScenarios / "fleet-housing-association.yaml";
    ASSERT_NO_FATAL_FAILURE(run(scenario, dir_ / "single"));
    const std::string expected = slurp(dir_ / "single" / "findings.json");
    ASSERT_THAT(expected, HasSubstr("side_channel"));

    std::vector<std::string> argv = {exe_, "merge"};
    for (int i = 0; i < 4; ++i) {
        const fs::path out = dir_ / ("shard" + std::to_string(i));
        ASSERT_NO_FATAL_FAILURE(run(scenario, out, {"--shard", std::to_string(i) + "/4"}));
        // A shard writes below its --out folder, named by its index.
        const fs::path shard = out / ("shard-" + std::to_string(i) + "-of-4");
        ASSERT_TRUE(fs::exists(shard / "findings.json")) << shard;
        argv.push_back(shard.string());
    }
    argv.insert(argv.end(), {"--out", (dir_ / "merged").string()});
    fs::create_directories(dir_ / "merged");
    const auto merge = run_process(argv);
    ASSERT_EQ(merge.exit_code, 1) << merge.out << merge.err;  // 1: the merged run has findings
    EXPECT_THAT(merge.out, HasSubstr("merged 4 shards"));
    EXPECT_EQ(slurp(dir_ / "merged" / "findings.json"), expected);
}
