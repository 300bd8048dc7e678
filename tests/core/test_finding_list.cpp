// core::FindingList: findings with their evidence in a spill file, and findings.json written
// one finding at a time.
#include "core/finding_list.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "tests/core/file_size_limit.hpp"

using namespace consentrig::core;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

/// A fresh empty folder for one test, removed at the end.
class FindingListTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("consentrig-finding-list-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path dir_;
};

/// A finding whose evidence has what a real one has: nested objects, arrays, doubles, negative
/// and large integers, null, and device text that is not UTF-8.
Finding finding(FindingType type, std::string device, TimeMs t, std::optional<Category> category, int n) {
    Finding f;
    f.type = type;
    f.device = std::move(device);
    f.recipient = "voice-partner";
    f.category = category;
    f.t = t;
    f.line = static_cast<std::uint64_t>(n);
    f.evidence = {{"reason", "no grant covers it #" + std::to_string(n)},
                  {"sent", "2026-01-05T10:00:00.000Z"},
                  {"line", n},
                  {"offset_ms", -250 * n},
                  {"big", std::uint64_t{1} << 60},
                  {"value", 20.2 + n},
                  {"third", 1.0 / 3.0},
                  {"nothing", nullptr},
                  {"flag", n % 2 == 0},
                  {"fields", json::array({{{"key", "Alexa.TemperatureSensor.temperature"}, {"value", {{"scale", "CELSIUS"}}}}})},
                  {"message", {{"endpointId", std::string("thermo-\xff\xfe-") + std::to_string(n)}, {"empty", json::object()}}}};
    return f;
}

std::string dump_whole(const std::vector<Finding>& sorted, const json& extra) {
    json out = json::object();
    out["version"] = 1;
    FindingCounts counts{};
    for (const auto& f : sorted) ++counts[static_cast<std::size_t>(f.type)];
    json summary = json::object();
    for (std::size_t i = 0; i < kFindingTypeCount; ++i) summary[std::string(kFindingTypeNames[i])] = counts[i];
    summary["total"] = sorted.size();
    out["summary"] = summary;
    for (const auto& [k, v] : extra.items()) out[k] = v;
    json list = json::array();
    for (const auto& f : sorted) list.push_back(finding_to_json(f));
    out["findings"] = std::move(list);
    return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::vector<Finding> sample() {
    return {finding(FindingType::out_of_window, "thermo-2", 3000, Category::temperature, 1),
            finding(FindingType::after_revocation, "thermo-1", 3000, Category::setpoint, 2),
            finding(FindingType::side_channel, "lock-1", 1000, std::nullopt, 3),
            finding(FindingType::out_of_window, "thermo-2", 3000, Category::temperature, 4),  // ties with #1
            finding(FindingType::cause_mismatch, "thermo-1", 2000, std::nullopt, 5)};
}

}  // namespace

// GIVEN findings with varied evidence, pushed into a list that spills to disk
// WHEN each is loaded back
// THEN head and evidence equal what went in, invalid UTF-8 bytes included
TEST_F(FindingListTest, GivenASpilledList_WhenLoadedBack_ThenEveryFindingIsAsItWent) {
    auto list = FindingList::on_disk(dir_);
    ASSERT_TRUE(list.ok()) << list.error().message;
    const auto in = sample();
    for (auto f : in) ASSERT_TRUE(list->push_back(std::move(f)).ok());
    ASSERT_EQ(list->size(), in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        auto f = list->load(i);
        ASSERT_TRUE(f.ok()) << f.error().message;
        EXPECT_EQ(f->device, in[i].device);
        EXPECT_EQ(f->t, in[i].t);
        EXPECT_EQ(f->line, in[i].line);
        EXPECT_EQ(f->evidence, in[i].evidence);
        EXPECT_EQ(f->evidence["message"]["endpointId"].get<std::string>(), in[i].evidence["message"]["endpointId"].get<std::string>());
        EXPECT_EQ(finding_to_json(*f).dump(2, ' ', false, json::error_handler_t::replace),
                  finding_to_json(in[i]).dump(2, ' ', false, json::error_handler_t::replace));
    }
    EXPECT_EQ(list->counts()[static_cast<std::size_t>(FindingType::out_of_window)], 2u);
}

// GIVEN a list on disk
// WHEN it is made
// THEN its spill file is already gone from the folder (nothing left behind, even on a crash)
TEST_F(FindingListTest, GivenASpilledList_WhenMade_ThenTheFolderShowsNoFile) {
    auto list = FindingList::on_disk(dir_);
    ASSERT_TRUE(list.ok());
    ASSERT_TRUE(list->push_back(std::move(sample()[0])).ok());
    EXPECT_TRUE(fs::is_empty(dir_));
    EXPECT_TRUE(list->load(0).ok());
}

// GIVEN more evidence than the write buffer holds (several flushes)
// WHEN findings from before and after the flushes are loaded
// THEN all come back intact
TEST_F(FindingListTest, GivenManyFindingsAcrossFlushes_WhenLoaded_ThenAllComeBack) {
    auto list = FindingList::on_disk(dir_);
    ASSERT_TRUE(list.ok());
    constexpr int kCount = 6000;  // ~0.4 KB of CBOR each: > 2 MiB, so at least two flushes
    for (int n = 0; n < kCount; ++n) ASSERT_TRUE(list->push_back(finding(FindingType::out_of_window, "thermo-1", n, Category::temperature, n)).ok());
    for (int n : {0, 1, kCount / 2, kCount - 2, kCount - 1}) {
        auto e = list->evidence(static_cast<std::size_t>(n));
        ASSERT_TRUE(e.ok()) << e.error().message;
        EXPECT_EQ((*e)["line"], n);
    }
    EXPECT_TRUE(list->status().ok());
}

// GIVEN a spill file that cannot grow past 256 KiB (a full disk, as RLIMIT_FSIZE makes it)
// WHEN findings keep coming
// THEN push_back fails with an error naming the spill file and status() keeps it; once there is
//      room again every finding taken still loads
TEST_F(FindingListTest, GivenAFullDisk_WhenFindingsKeepComing_ThenTheErrorSaysSoAndEarlierOnesLoad) {
    auto list = FindingList::on_disk(dir_);
    ASSERT_TRUE(list.ok());
    Status failed;
    int n = 0;
    {
        const consentrig::testing::FileSizeLimit full_disk(256 * 1024);
        ASSERT_TRUE(full_disk.ok());
        for (; n < 20000 && failed.ok(); ++n) failed = list->push_back(finding(FindingType::out_of_window, "thermo-1", n, Category::temperature, n));
    }

    ASSERT_FALSE(failed.ok()) << "20000 findings fitted in 256 KiB";
    EXPECT_THAT(failed.error().message, ::testing::HasSubstr("cannot write findings' evidence"));
    EXPECT_THAT(failed.error().message, ::testing::HasSubstr((dir_ / ".findings-").string()));
    EXPECT_FALSE(list->status().ok());
    // With room again, every finding that was taken reads back as it went in.
    for (int k : {0, n / 2, n - 1}) {
        auto e = list->evidence(static_cast<std::size_t>(k));
        ASSERT_TRUE(e.ok()) << e.error().message;
        EXPECT_EQ((*e)["line"], k);
    }
}

// GIVEN a folder that does not exist
// WHEN a list is to spill there
// THEN the error names the path
TEST_F(FindingListTest, GivenAMissingFolder_WhenSpillingThere_ThenTheErrorNamesIt) {
    auto list = FindingList::on_disk(dir_ / "missing");
    ASSERT_FALSE(list.ok());
    EXPECT_THAT(list.error().message, ::testing::HasSubstr((dir_ / "missing").string()));
}

// GIVEN findings in no particular order, two of them tied on every sort key
// WHEN sorted
// THEN they follow finding_less and the tied ones keep their order (as std::stable_sort would)
TEST_F(FindingListTest, GivenUnorderedFindings_WhenSorted_ThenStableInFindingLessOrder) {
    auto in = sample();
    in[3].line = in[0].line;  // now #1 and #4 compare equal
    auto list = FindingList::from(in);
    list.sort();
    std::vector<Finding> expected = in;
    std::stable_sort(expected.begin(), expected.end(), [](const Finding& a, const Finding& b) { return finding_less(a, b); });
    ASSERT_EQ(list.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        auto f = list.load(i);
        ASSERT_TRUE(f.ok());
        EXPECT_EQ(f->evidence["reason"], expected[i].evidence["reason"]) << "position " << i;
    }
}

// GIVEN a thousand findings in a shuffled order with many ties (long permutation cycles)
// WHEN sorted
// THEN each sits where std::stable_sort puts it, its evidence with it
TEST_F(FindingListTest, GivenManyShuffledFindings_WhenSorted_ThenAsStableSortWithEvidenceAlong) {
    std::vector<Finding> in;
    std::uint64_t x = 12345;
    for (int n = 0; n < 1000; ++n) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;  // LCG: a fixed shuffle
        in.push_back(finding(FindingType::out_of_window, "thermo-" + std::to_string((x >> 33) % 7),
                             static_cast<TimeMs>((x >> 40) % 50), Category::temperature, n));
        in.back().line = 0;  // ties on every key but the evidence
    }
    auto list = FindingList::from(in);
    list.sort();
    std::stable_sort(in.begin(), in.end(), [](const Finding& a, const Finding& b) { return finding_less(a, b); });
    for (std::size_t i = 0; i < in.size(); ++i) {
        EXPECT_EQ(list[i].device, in[i].device);
        EXPECT_EQ(list[i].t, in[i].t);
        auto e = list.evidence(i);
        ASSERT_TRUE(e.ok());
        ASSERT_EQ((*e)["reason"], in[i].evidence["reason"]) << "position " << i;
    }
}

// GIVEN sorted findings and metadata keys on both sides of "findings" in key order
// WHEN findings.json is written one finding at a time
// THEN it is byte for byte the dump of the whole tree; also with no findings at all
TEST_F(FindingListTest, GivenFindings_WhenWrittenAsFindingsJson_ThenBytesEqualTheWholeTreeDump) {
    const json extra = {{"command", "run"}, {"scenario", "x<\"y\">"}, {"seed", 7}, {"devices", 3}};
    auto list = FindingList::on_disk(dir_);
    ASSERT_TRUE(list.ok());
    for (auto f : sample()) ASSERT_TRUE(list->push_back(std::move(f)).ok());
    list->sort();
    std::vector<Finding> sorted = sample();
    std::stable_sort(sorted.begin(), sorted.end(), [](const Finding& a, const Finding& b) { return finding_less(a, b); });

    std::ostringstream out;
    ASSERT_TRUE(write_findings_json(*list, extra, out).ok());
    EXPECT_EQ(out.str(), dump_whole(sorted, extra));
    EXPECT_THAT(out.str(), ::testing::HasSubstr("thermo-\xEF\xBF\xBD\xEF\xBF\xBD-"));  // invalid bytes → U+FFFD

    std::ostringstream none;
    ASSERT_TRUE(write_findings_json(FindingList{}, extra, none).ok());
    EXPECT_EQ(none.str(), dump_whole({}, extra));
}
