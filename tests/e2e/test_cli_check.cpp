// `consentrig check` and `consentrig trace` run as a user runs them: a real process, real files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "process.hpp"

namespace fs = std::filesystem;
using consentrig::testing::built_program;
using consentrig::testing::run_process;
using ::testing::HasSubstr;

namespace {

const std::string kExamples = std::string(CONSENTRIG_SOURCE_DIR) + "/examples";

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

class CheckCli : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("consentrig-e2e-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
                std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name, std::ios::binary) << text; }
    std::string path(const std::string& name) const { return (dir_ / name).string(); }

    fs::path dir_;
    const std::string exe_ = built_program("consentrig");
};

}  // namespace

TEST_F(CheckCli, GivenShippedExample_WhenChecked_ThenExit1WithEveryExpectedLeakInJsonAndJunit) {
    const auto r = run_process({exe_, "check", kExamples + "/policy.yaml", kExamples + "/trace.jsonl", "--json",
                                path("findings.json"), "--junit", path("junit.xml")});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_THAT(r.out, HasSubstr("FAIL"));
    EXPECT_THAT(r.out, HasSubstr("out_of_window"));

    const auto j = nlohmann::json::parse(slurp(path("findings.json")));
    std::multiset<std::string> types;
    for (const auto& f : j["findings"]) {
        types.insert(f["type"].get<std::string>());
        EXPECT_TRUE(f.contains("device") && f.contains("recipient") && f.contains("category") && f.contains("t") &&
                    f["evidence"].is_object());
    }
    for (const char* expected : {"out_of_window", "cause_mismatch", "after_revocation", "unconsented_recipient",
                                 "outside_scope"}) {
        EXPECT_EQ(types.count(expected), j["summary"][expected].get<std::size_t>()) << expected;
        EXPECT_GE(types.count(expected), 1u) << expected;
    }
    EXPECT_EQ(j["summary"]["total"].get<std::size_t>(), j["findings"].size());

    const auto lint = run_process({"/usr/bin/xmllint", "--noout", path("junit.xml")});
    EXPECT_EQ(lint.exit_code, 0) << lint.err;
    const std::string xml = slurp(path("junit.xml"));
    EXPECT_THAT(xml, HasSubstr("classname=\"example-home.thermo-1\" name=\"out_of_window\""));
    EXPECT_THAT(xml, HasSubstr("<failure"));
}

// GIVEN --json naming a pipe (as `--json /dev/stdout` does), opened for reading beforehand
// WHEN the example is checked (its 17 kB of findings fit in the pipe's buffer)
// THEN the findings come through the pipe, and the pipe is still a pipe (not renamed over)
TEST_F(CheckCli, GivenAPipeAsJsonOutput_WhenChecked_ThenTheFindingsGoThroughItAndItStaysAPipe) {
    ASSERT_EQ(::mkfifo(path("pipe").c_str(), 0600), 0);
    const int fd = ::open(path("pipe").c_str(), O_RDONLY | O_NONBLOCK);  // the writer's open won't block
    ASSERT_GE(fd, 0);
    const auto r = run_process({exe_, "check", kExamples + "/policy.yaml", kExamples + "/trace.jsonl", "--json", path("pipe")});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    const auto j = nlohmann::json::parse(text, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << text.size() << " bytes came through the pipe";
    EXPECT_GT(j["findings"].size(), 0u);
    EXPECT_TRUE(fs::is_fifo(path("pipe")));
    EXPECT_FALSE(fs::exists(path("pipe.tmp")));
}

TEST_F(CheckCli, GivenCleanTrace_WhenChecked_ThenExit0AndPass) {
    write("policy.yaml", "consent:\n  - recipient: vendor-cloud\n    categories: [all]\n    basis: always\n");
    write("trace.jsonl",
          R"({"kind":"egress","t":"2026-01-05T10:00:00.000Z","device":"d1","to":"vendor-cloud","format":"json","body":{"temperature":20.5}})"
          "\n");
    const auto r = run_process({exe_, "check", path("policy.yaml"), path("trace.jsonl")});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("PASS"));
}

TEST_F(CheckCli, GivenMalformedPolicy_WhenChecked_ThenExit2NamingFileLineColumn) {
    write("policy.yaml", "consent:\n  - recipient: vendor-cloud\n    categories: [temprature]\n    basis: always\n");
    write("trace.jsonl", "");
    const auto r = run_process({exe_, "check", path("policy.yaml"), path("trace.jsonl")});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("policy.yaml:3:"));
    EXPECT_THAT(r.err, HasSubstr("temprature"));
}

TEST_F(CheckCli, GivenMalformedTraceLine_WhenChecked_ThenExit2NamingTheLine) {
    write("policy.yaml", "consent: []\n");
    write("trace.jsonl",
          R"({"kind":"egress","t":"2026-01-05T10:00:00.000Z","device":"d1","to":"r","format":"json","body":{}})"
          "\n{\"kind\":\"egress\",\"t\":\n");
    const auto r = run_process({exe_, "check", path("policy.yaml"), path("trace.jsonl")});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("line 2"));
}

TEST_F(CheckCli, GivenHostileDeviceName_WhenChecked_ThenTerminalOutputHasNoEscapesAndJunitIsWellFormed) {
    write("policy.yaml", "consent: []\n");
    nlohmann::json line = {{"kind", "egress"}, {"t", "2026-01-05T10:00:00.000Z"},
                           {"device", "evil\x1b[2J<script>alert(1)</script>\"&'"}, {"to", "r\x07"},
                           {"format", "json"}, {"body", {{"temperature", 1}}}};
    write("trace.jsonl", line.dump() + "\n");
    const auto r = run_process({exe_, "check", path("policy.yaml"), path("trace.jsonl"), "--junit", path("j.xml")});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
    EXPECT_EQ(r.out.find('\x07'), std::string::npos);
    EXPECT_THAT(r.out, HasSubstr("\\x1B[2J"));
    const auto lint = run_process({"/usr/bin/xmllint", "--noout", path("j.xml")});
    EXPECT_EQ(lint.exit_code, 0) << lint.err;
    EXPECT_THAT(slurp(path("j.xml")), HasSubstr("&lt;script&gt;"));
}

TEST_F(CheckCli, GivenMissingArguments_WhenRun_ThenExit2AndHelpWorks) {
    EXPECT_EQ(run_process({exe_, "check"}).exit_code, 2);
    const auto help = run_process({exe_, "check", "--help"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_THAT(help.out, HasSubstr("--junit"));
}

TEST_F(CheckCli, GivenExampleTrace_WhenImportedAndExported_ThenBytesIdenticalAndDbChecksTheSame) {
    const auto imp = run_process({exe_, "trace", "import", kExamples + "/trace.jsonl", path("t.db")});
    ASSERT_EQ(imp.exit_code, 0) << imp.err;
    const auto exp = run_process({exe_, "trace", "export", path("t.db"), path("t.jsonl")});
    ASSERT_EQ(exp.exit_code, 0) << exp.err;
    EXPECT_EQ(slurp(path("t.jsonl")), slurp(kExamples + "/trace.jsonl"));

    const auto from_jsonl = run_process({exe_, "check", kExamples + "/policy.yaml", kExamples + "/trace.jsonl", "--json", path("a.json")});
    const auto from_db = run_process({exe_, "check", kExamples + "/policy.yaml", path("t.db"), "--json", path("b.json")});
    EXPECT_EQ(from_jsonl.exit_code, from_db.exit_code);
    auto a = nlohmann::json::parse(slurp(path("a.json")));
    auto b = nlohmann::json::parse(slurp(path("b.json")));
    EXPECT_EQ(a["findings"], b["findings"]);
}
