// Scale-out end to end: the same findings, byte for byte, from one process, from shards picked
// by a batch system's environment and merged, and from `mpirun -np 2`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "process.hpp"

namespace fs = std::filesystem;
using consentrig::testing::built_program;
using consentrig::testing::run_process;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// A junit.xml without its suite's time, which differs from run to run.
std::string untimed(const fs::path& p) {
    static const std::regex suite_time(R"(<testsuite ([^>]*) time="[0-9.]+">)");
    return std::regex_replace(slurp(p), suite_time, "<testsuite $1>");
}

class ScaleOut : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("consentrig-scaleout-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        const auto single = run_process({exe_, "run", scenario_, "--out", (dir_ / "single").string(), "--quiet"});
        ASSERT_LE(single.exit_code, 1) << single.err;
        expected_ = slurp(dir_ / "single" / "findings.json");
        ASSERT_THAT(expected_, ::testing::HasSubstr("\"findings\""));
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path dir_;
    std::string expected_;
    const std::string exe_ = built_program("consentrig");
    const std::string scenario_ = std::string(CONSENTRIG_SOURCE_DIR) + "/scenarios/default.yaml";
};

}  // namespace

TEST_F(ScaleOut, GivenSlurmArrayEnvironment_WhenEveryTaskRunsAndIsMerged_ThenFindingsAreByteIdentical) {
    std::vector<std::string> shards;
    for (int task = 0; task < 2; ++task) {
        const auto r = run_process({exe_, "run", scenario_, "--out", (dir_ / "slurm").string(), "--quiet"}, {},
                                   {"SLURM_ARRAY_TASK_ID=" + std::to_string(task), "SLURM_ARRAY_TASK_COUNT=2",
                                    "SLURM_ARRAY_TASK_MIN=0"});
        ASSERT_LE(r.exit_code, 1) << r.err;
        shards.push_back((dir_ / "slurm" / ("shard-" + std::to_string(task) + "-of-2")).string());
        EXPECT_TRUE(fs::exists(fs::path(shards.back()) / "findings.json"));
    }
    const auto merge = run_process({exe_, "merge", shards[0], shards[1], "--out", (dir_ / "slurm").string()});
    ASSERT_LE(merge.exit_code, 1) << merge.err;
    EXPECT_EQ(slurp(dir_ / "slurm" / "findings.json"), expected_);
    EXPECT_THAT(merge.out, ::testing::HasSubstr("\nexpectations: met\n"));  // the fleet's, as one process
    // junit.xml as the single process wrote it, but for the suite's time (the shards' run times)
    EXPECT_EQ(untimed(dir_ / "slurm" / "junit.xml"), untimed(dir_ / "single" / "junit.xml"));
    EXPECT_THAT(slurp(dir_ / "slurm" / "junit.xml"), ::testing::HasSubstr("<testcase classname="));

    // GIVEN only one of the two shards WHEN merged THEN the expectations are not judged on half a fleet
    const auto half = run_process({exe_, "merge", shards[1], "--out", (dir_ / "half").string()});
    ASSERT_LE(half.exit_code, 1) << half.err;
    EXPECT_THAT(half.out, ::testing::HasSubstr("expectations: not checked: shard 0 of 2 is missing"));
    EXPECT_FALSE(fs::exists(dir_ / "half" / "junit.xml"));
    // … and the same folder twice is refused before anything is merged
    const auto twice = run_process({exe_, "merge", shards[1], shards[1], "--out", (dir_ / "twice").string()});
    EXPECT_EQ(twice.exit_code, 2);
    EXPECT_THAT(twice.err, ::testing::HasSubstr(shards[1] + " is given twice"));
    EXPECT_FALSE(fs::exists(dir_ / "twice" / "findings.json"));
    // … and so is a copy of a shard: the expectations are not checked on it
    fs::copy(shards[1], dir_ / "copy", fs::copy_options::recursive);
    const auto copy = run_process({exe_, "merge", shards[1], (dir_ / "copy").string(), "--out", (dir_ / "copied").string()});
    EXPECT_THAT(copy.out, ::testing::HasSubstr("expectations: not checked: shard 1 of 2 is given twice"));
}

// GIVEN a shard run whose --out folder is handed to merge instead of the shard folder in it
// WHEN merged
// THEN exit 2, and the error names the shard folder to pass instead
TEST_F(ScaleOut, GivenTheOutFolderOfAShardRun_WhenMerged_ThenTheErrorNamesTheShardFolderInside) {
    const fs::path out = dir_ / "own-out";
    const auto r = run_process({exe_, "run", scenario_, "--shard", "1/2", "--out", out.string(), "--quiet"});
    ASSERT_LE(r.exit_code, 1) << r.err;
    const auto merge = run_process({exe_, "merge", out.string(), "--out", (dir_ / "merged").string()});
    EXPECT_EQ(merge.exit_code, 2);
    EXPECT_THAT(merge.err, ::testing::HasSubstr((out / "findings.json").string() + ": cannot read"));
    EXPECT_THAT(merge.err, ::testing::HasSubstr("merge their folders (" + (out / "shard-1-of-2").string() + ")"));
}

TEST_F(ScaleOut, GivenKubernetesIndexWithoutShardCount_WhenRun_ThenExit2ExplainingWhatIsMissing) {
    const auto r = run_process({exe_, "run", scenario_, "--out", (dir_ / "k8s").string(), "--quiet"}, {},
                               {"JOB_COMPLETION_INDEX=1"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, ::testing::HasSubstr("Kubernetes"));
}

#ifdef CONSENTRIG_MPIRUN
TEST_F(ScaleOut, GivenMpirunWithTwoRanks_WhenRun_ThenRankZeroWritesByteIdenticalFindings) {
    const auto r = run_process({CONSENTRIG_MPIRUN, "--allow-run-as-root", "--oversubscribe", "-np", "2", exe_, "run",
                                scenario_, "--out", (dir_ / "mpi").string(), "--quiet"},
                               {}, {"OMPI_MCA_rmaps_base_oversubscribe=1"});
    ASSERT_LE(r.exit_code, 1) << r.out << r.err;
    EXPECT_THAT(r.out, ::testing::HasSubstr("mpi: 2 ranks"));
    EXPECT_TRUE(fs::exists(dir_ / "mpi" / "shard-1-of-2" / "findings.json"));
    EXPECT_EQ(slurp(dir_ / "mpi" / "findings.json"), expected_);
    EXPECT_EQ(untimed(dir_ / "mpi" / "junit.xml"), untimed(dir_ / "single" / "junit.xml"));
}

// GIVEN a fleet whose expected findings come from devices of both shards (rank 0's shard alone
//       does not meet them)
// WHEN it runs under mpirun -np 2
// THEN the expectations are checked against the merged findings and met
TEST_F(ScaleOut, GivenExpectationsSpanningBothShards_WhenRunUnderMpirun_ThenTheMergedFindingsMeetThem) {
    const std::string housing = std::string(CONSENTRIG_SOURCE_DIR) + "/scenarios/fleet-housing-association.yaml";
    const auto r = run_process({CONSENTRIG_MPIRUN, "--allow-run-as-root", "--oversubscribe", "-np", "2", exe_, "run",
                                housing, "--out", (dir_ / "mpi-housing").string(), "--quiet"},
                               {}, {"OMPI_MCA_rmaps_base_oversubscribe=1"});
    ASSERT_LE(r.exit_code, 1) << r.out << r.err;
    EXPECT_THAT(r.out, ::testing::HasSubstr("expectations: met"));
    EXPECT_THAT(r.out, ::testing::Not(::testing::HasSubstr("NOT met")));
}
#endif
