// The reports as a reader gets them: the HTML opened in headless Chromium (checked through the DOM
// it dumps), the PDF turned into text and pages by poppler, the JUnit file through xmllint. Built
// only where Chromium is installed (CMake find_program); scripts/bootstrap installs it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

#include "../e2e/process.hpp"
#include "reports/junit.hpp"
#include "reports/pdf.hpp"
#include "reports/write.hpp"
#include "support.hpp"

namespace {

using namespace consentrig;
using namespace consentrig::reports;
using namespace consentrig::reports::testing;
using ::testing::HasSubstr;
using ::testing::Not;
namespace proc = consentrig::testing;

/// `chromium --headless … --dump-dom URL`: the DOM after the page's scripts ran.
std::string dump_dom(const fs::path& dir, const std::string& url) {
    std::vector<std::string> argv{CONSENTRIG_CHROMIUM};
    for (auto& a : chromium_args(dir / "chromium-profile")) argv.push_back(a);
    argv.push_back("--dump-dom");
    argv.push_back(url);
    std::string error;
    const int rc = reports::run_process(argv, dir / "dom.html", 120, error, dir / "chromium.log");
    EXPECT_EQ(rc, 0) << error << read_text(dir / "chromium.log");
    return read_text(dir / "dom.html");
}

std::string squeeze(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (!std::isspace(static_cast<unsigned char>(c))) out += c;
    }
    return out;
}

std::size_t occurrences(const std::string& hay, const std::string& needle) {
    std::size_t n = 0;
    for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
    return n;
}

class Browser : public ::testing::Test {
protected:
    void TearDown() override {
        std::error_code ec;
        if (!dir_.empty() && !HasFailure()) fs::remove_all(dir_, ec);
    }
    fs::path dir_;
};

TEST_F(Browser, GivenHostileTrace_WhenReportOpenedInChromium_ThenNoInjectedScriptRanAndTheTextIsLiteral) {
    dir_ = test_dir();
    auto built = build(dir_, kHostilePolicy, kHostileTrace, invalid_utf8_findings());
    const fs::path out = dir_ / "out";
    ChromiumPdf pdf(CONSENTRIG_CHROMIUM);
    WriteOptions wo;
    wo.renderer = &pdf;
    auto written = write_reports(built->report, out, wo);
    ASSERT_TRUE(written.ok()) << written.error().message;
    ASSERT_TRUE(fs::exists(out / "report.html"));

    // Open the first finding through its anchor: the page's own script must open it.
    const std::string dom = dump_dom(dir_, "file://" + (out / "report.html").string() + "#f-0");
    ASSERT_FALSE(dom.empty());
    // Our script ran (it marks the document when done) ...
    EXPECT_THAT(dom, HasSubstr("data-ready=\"1\""));
    EXPECT_THAT(dom, HasSubstr("<tbody class=\"f open\" id=\"f-0\""));
    // ... and nothing injected did: no title change, no element added, no second script.
    std::smatch title;
    ASSERT_TRUE(std::regex_search(dom, title, std::regex("<title>([^<]*)</title>")));
    EXPECT_EQ(title[1].str().rfind("consentrig report: ", 0), 0u) << title[1];
    EXPECT_THAT(dom, Not(HasSubstr("<pwned")));
    EXPECT_EQ(occurrences(dom, "<script"), 1u);
    EXPECT_EQ(occurrences(dom, "<a href=\"javascript"), 0u);
    EXPECT_EQ(occurrences(dom, "<img"), 0u);
    // The strings are on the page, literally (serialised text: < > & escaped, quotes as they are).
    EXPECT_THAT(dom, HasSubstr("thermo-&lt;script&gt;document.title='pwned';document.body.appendChild(document.createElement('pwned'))&lt;/script&gt;\"'&amp;"));
    EXPECT_THAT(dom, HasSubstr("evil&lt;/svg&gt;&lt;script&gt;document.title='pwned2'&lt;/script&gt;&lt;a href=\"javascript:alert(1)\"&gt;x&lt;/a&gt;"));
    EXPECT_THAT(dom, HasSubstr("&lt;/pre&gt;&lt;/td&gt;&lt;/tr&gt;&lt;/tbody&gt;&lt;/table&gt;&lt;script&gt;document.title='pwned6'&lt;/script&gt;"));
    EXPECT_THAT(dom, HasSubstr("bad-\xEF\xBF\xBD\xEF\xBF\xBD-utf8-"));
    EXPECT_THAT(dom, HasSubstr("rcpt-\\x01\\x1B[31m-"));

    // PDF: paginated, and the hostile text is there as text.
    ASSERT_TRUE(fs::exists(out / "report.pdf")) << written->pdf_note;
    const auto info = proc::run_process({"pdfinfo", (out / "report.pdf").string()});
    std::smatch pages;
    ASSERT_TRUE(std::regex_search(info.out, pages, std::regex("Pages:\\s+(\\d+)")));
    EXPECT_GE(std::stoi(pages[1]), 2);
    const auto ppm = proc::run_process({"pdftoppm", "-r", "12", "-png", (out / "report.pdf").string(), (dir_ / "page").string()});
    EXPECT_EQ(ppm.exit_code, 0) << ppm.err;
    std::size_t images = 0;
    for (const auto& e : fs::directory_iterator(dir_)) images += e.path().filename().string().rfind("page", 0) == 0 ? 1 : 0;
    EXPECT_EQ(images, static_cast<std::size_t>(std::stoi(pages[1])));
    const auto text = proc::run_process({"pdftotext", (out / "report.pdf").string(), "-"});
    ASSERT_EQ(text.exit_code, 0) << text.err;
    const std::string flat = squeeze(text.out);
    EXPECT_THAT(flat, HasSubstr(squeeze(kHostileDevice)));
    EXPECT_THAT(flat, HasSubstr("</pre></td></tr></tbody></table><script>document.title='pwned6'</script>"));
    EXPECT_THAT(flat, HasSubstr(squeeze(kHostileRecipient)));
    EXPECT_THAT(flat, HasSubstr("Provisions"));
    EXPECT_THAT(flat, HasSubstr("FAIL"));

    // JUnit from the same findings: well-formed for xmllint.
    JunitSuite suite{"hostile", {}, &built->findings, 0};
    write_text(out / "junit.xml", *junit_xml({suite}));
    const auto lint = proc::run_process({"/usr/bin/xmllint", "--noout", (out / "junit.xml").string()});
    EXPECT_EQ(lint.exit_code, 0) << lint.err;
}

TEST_F(Browser, GivenDefaultScenarioRun_WhenReportOpened_ThenTimelinesAndFiltersWork) {
    dir_ = test_dir();
    const auto run = proc::run_process({proc::built_program("consentrig"), "run",
                                           std::string(CONSENTRIG_SOURCE_DIR) + "/scenarios/default.yaml", "--out",
                                           (dir_ / "run").string(), "--quiet"},
                                          {}, {"CONSENTRIG_CHROMIUM=" CONSENTRIG_CHROMIUM});
    ASSERT_EQ(run.exit_code, 1) << run.err;
    for (const char* f : {"report.html", "report.json", "summary.md", "report.pdf", "findings.json", "junit.xml"}) {
        EXPECT_TRUE(fs::exists(dir_ / "run" / f)) << f;
    }
    const std::string dom = dump_dom(dir_, "file://" + (dir_ / "run" / "report.html").string());
    EXPECT_THAT(dom, HasSubstr("data-ready=\"1\""));
    EXPECT_EQ(occurrences(dom, "<article class=\"dev\""), 2u);
    EXPECT_TRUE(std::regex_search(dom, std::regex("id=\"fcount\" class=\"muted\">[0-9]+ shown<")))
        << "the filter counter is only written by the script";
}

}  // namespace
