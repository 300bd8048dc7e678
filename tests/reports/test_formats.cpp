// Golden-structure tests: every format is parsed back (HTML and XML with libxml2, JSON with
// nlohmann, Markdown by its table syntax) and checked for content, not bytes — also with hostile
// device text, which must stay literal text in every format.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include <regex>

#include "core/scenario.hpp"
#include "reports/escape.hpp"
#include "reports/html.hpp"
#include "reports/json_report.hpp"
#include "reports/junit.hpp"
#include "reports/markdown.hpp"
#include "support.hpp"

namespace {

using namespace consentrig;
using namespace consentrig::reports;
using namespace consentrig::reports::testing;
using ::testing::HasSubstr;
using ::testing::Not;

/// A parsed HTML or XML document with XPath queries.
class Doc {
public:
    static Doc html(const std::string& text) {
        return Doc(htmlReadMemory(text.data(), static_cast<int>(text.size()), "report.html", "UTF-8",
                                  HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET));
    }
    static Doc xml(const std::string& text) {
        return Doc(xmlReadMemory(text.data(), static_cast<int>(text.size()), "junit.xml", "UTF-8",
                                 XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
    }
    Doc(const Doc&) = delete;
    Doc(Doc&& o) noexcept : doc_(o.doc_) { o.doc_ = nullptr; }
    ~Doc() {
        if (doc_) xmlFreeDoc(doc_);
    }
    [[nodiscard]] bool ok() const { return doc_ != nullptr; }

    /// Text content of every node the XPath selects (attributes: their values).
    [[nodiscard]] std::vector<std::string> all(const std::string& xpath) const {
        std::vector<std::string> out;
        xmlXPathContextPtr ctx = xmlXPathNewContext(doc_);
        xmlXPathObjectPtr res = xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>(xpath.c_str()), ctx);
        if (res && res->nodesetval) {
            for (int i = 0; i < res->nodesetval->nodeNr; ++i) {
                xmlChar* s = xmlNodeGetContent(res->nodesetval->nodeTab[i]);
                out.emplace_back(s ? reinterpret_cast<const char*>(s) : "");
                xmlFree(s);
            }
        }
        if (res) xmlXPathFreeObject(res);
        xmlXPathFreeContext(ctx);
        return out;
    }
    [[nodiscard]] std::size_t count(const std::string& xpath) const { return all(xpath).size(); }
    [[nodiscard]] std::string one(const std::string& xpath) const {
        auto v = all(xpath);
        return v.empty() ? std::string("<none>") : v.front();
    }

private:
    explicit Doc(xmlDocPtr d) : doc_(d) {}
    xmlDocPtr doc_;
};

std::string trim(std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(0, 1);
    return s;
}

class Formats : public ::testing::Test {
protected:
    void TearDown() override {
        std::error_code ec;
        if (!dir_.empty()) fs::remove_all(dir_, ec);
    }
    const Report& fixture() {
        dir_ = test_dir();
        built_ = build(dir_, kPolicy, kTrace);
        return built_->report;
    }
    const Report& hostile() {
        dir_ = test_dir();
        built_ = build(dir_, kHostilePolicy, kHostileTrace, invalid_utf8_findings());
        return built_->report;
    }
    fs::path dir_;
    std::unique_ptr<Built> built_;
};

// ---- HTML -----------------------------------------------------------------------------------

/// What must hold for any report page, hostile or not.
void expect_safe_page(const Doc& d, bool print) {
    // One script, ours, allowed by its hash and nothing else.
    EXPECT_EQ(d.count("//script"), print ? 0u : 1u);
    const std::string csp = d.one("//meta[@http-equiv='Content-Security-Policy']/@content");
    EXPECT_THAT(csp, HasSubstr("default-src 'none'"));
    if (!print) {
        EXPECT_THAT(csp, HasSubstr("script-src 'sha256-"));
    }
    EXPECT_EQ(d.count("//@*[starts-with(translate(name(),'ON','on'),'on')]"), 0u) << "event handler attribute";
    EXPECT_EQ(d.count("//@href[not(starts-with(.,'#'))]"), 0u) << "a link that is not an in-page anchor";
    EXPECT_EQ(d.count("//@src"), 0u);
    EXPECT_EQ(d.count("//iframe|//object|//embed|//img|//pwned|//foreignObject|//style[not(parent::head)]"), 0u);
    EXPECT_EQ(d.count("//link"), 0u);  // nothing loaded from anywhere
}

TEST_F(Formats, GivenFixture_WhenRenderedAsHtml_ThenEverySectionHoldsTheModel) {
    const Report& r = fixture();
    const std::string html = render_html(r);
    const Doc d = Doc::html(html);
    ASSERT_TRUE(d.ok());
    expect_safe_page(d, false);
    EXPECT_EQ(trim(d.one("//header[@id='verdict']/h1")), "FAIL");
    EXPECT_THAT(d.one("//title"), HasSubstr("fixture"));
    // Provisions: six rows, each with a verdict; the mapping's consequences are visible.
    EXPECT_EQ(d.count("//table[@class='prov']/tbody/tr"), 6u);
    EXPECT_EQ(trim(d.one("//tr[@id='p-EN303645-6-1']//span[contains(@class,'v ')]")), "PASS");
    EXPECT_EQ(trim(d.one("//tr[@id='p-EN303645-6-3']//span[contains(@class,'v ')]")), "FAIL");
    EXPECT_EQ(trim(d.one("//tr[@id='p-EN303645-5.8-2']//span[contains(@class,'v ')]")), "FAIL");
    // The provision rows link to findings that exist on the page.
    for (const auto& href : d.all("//table[@class='prov']//a[starts-with(@href,'#f-')]/@href")) {
        EXPECT_EQ(d.count("//tbody[@id='" + href.substr(1) + "']"), 1u) << href;
    }
    // Findings: one tbody per finding with its evidence (consent state, fields, the message).
    EXPECT_EQ(d.count("//table[@id='ftable']/tbody[contains(@class,'f')]"), r.findings->size());
    EXPECT_EQ(d.count("//tbody[@id='f-0']//tr[@class='ev']//table[@class='grants']"), 1u);
    EXPECT_EQ(d.count("//tbody[@id='f-0']//tr[@class='ev']//pre[@class='msg']"), 1u);
    EXPECT_EQ(d.count("//select[@id='ft']/option"), 4u);  // every + 3 leak classes present
    // Shared message store: the evidence rows point into it.
    for (const auto& m : d.all("//pre[@class='msg']/@data-m")) EXPECT_EQ(d.count("//div[@id='messages']/pre[@id='m-" + m + "']"), 1u);
    EXPECT_THAT(d.all("//div[@id='messages']/pre"), ::testing::Contains(HasSubstr("\"humidity\": 40")));
    // Timelines: thermo-1 with two lanes; leak ticks link to their findings; the gap is drawn.
    EXPECT_EQ(d.count("//article[@class='dev']"), 1u);
    EXPECT_EQ(trim(d.one("//article[@id='d-0']/h3")), "thermo-1");
    EXPECT_EQ(d.count("//article[@id='d-0']//div[@class='lane']"), 2u);
    EXPECT_GE(d.count("//article[@id='d-0']//svg//a/line[@class='lk']"), 4u);
    EXPECT_EQ(d.count("//article[@id='d-0']//svg//rect[@class='gap']"), 1u);
    EXPECT_THAT(d.one("//article[@id='d-0']//svg//rect[@class='gap']/title"), HasSubstr("board disconnected"));
    EXPECT_GE(d.count("//article[@id='d-0']//svg//rect[@class='ok']"), 3u);
    EXPECT_EQ(d.count("//article[@id='d-0']//svg//line[@class='rv']"), 1u);
    EXPECT_EQ(d.count("//article[@id='d-0']//svg//line[@class='ia']"), 1u);
    // Coverage says what was not tested; metadata names the run.
    EXPECT_THAT(d.all("//div[@id='untested']//li"), ::testing::Contains(HasSubstr("backfill on re-link was not tested")));
    EXPECT_GE(d.count("//table[@id='coverage-items']/tbody/tr"), 3u);
    EXPECT_THAT(d.all("//table[@id='meta']//td"), ::testing::Contains("0123456789abcdef"));
    EXPECT_THAT(d.all("//table[@id='meta']//td"), ::testing::Contains("7"));
    EXPECT_EQ(d.count("//table[@id='mapping']/tbody/tr"), core::kFindingTypeCount);
}

TEST_F(Formats, GivenFixture_WhenRenderedForPrint_ThenNoScriptAndEvidenceInline) {
    const Report& r = fixture();
    HtmlOptions o;
    o.print = true;
    const Doc d = Doc::html(render_html(r, o));
    ASSERT_TRUE(d.ok());
    expect_safe_page(d, true);
    EXPECT_EQ(d.count("//div[@id='messages']"), 0u);
    // Evidence of the first finding of each leak class × device × recipient: 4 distinct here.
    EXPECT_EQ(d.count("//tbody[contains(@class,'open')]//pre[@class='msg' and string-length(.) > 2]"), 4u);
}

TEST_F(Formats, GivenScript_WhenRendered_ThenTheCspHashIsTheScriptsSha256) {
    const Report& r = fixture();
    const std::string html = render_html(r);
    const Doc d = Doc::html(html);
    const std::string script = d.one("//script");
    const std::string csp = d.one("//meta[@http-equiv='Content-Security-Policy']/@content");
    const std::string hex = core::sha256_hex(script);
    std::string raw;
    for (std::size_t i = 0; i < hex.size(); i += 2) raw += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    // base64 of the digest, computed independently of the renderer.
    static const char* kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string b64;
    int val = 0, bits = -6;
    for (unsigned char c : raw) {
        val = (val << 8) + c;
        bits += 8;
        while (bits >= 0) {
            b64.push_back(kB64[(val >> bits) & 0x3F]);
            bits -= 6;
        }
    }
    if (bits > -6) b64.push_back(kB64[((val << 8) >> (bits + 8)) & 0x3F]);
    while (b64.size() % 4) b64.push_back('=');
    EXPECT_THAT(csp, HasSubstr("'sha256-" + b64 + "'"));
}

TEST_F(Formats, GivenHostileTrace_WhenRenderedAsHtml_ThenDeviceTextIsLiteralAndNoMarkupGetsIn) {
    const Report& r = hostile();
    for (bool print : {false, true}) {
        HtmlOptions o;
        o.print = print;
        const std::string html = render_html(r, o);
        const Doc d = Doc::html(html);
        ASSERT_TRUE(d.ok());
        expect_safe_page(d, print);
        // The strings are there as text, exactly (after the parser decodes the entities).
        const auto cells = d.all("//table[@id='ftable']//tr[@class='fr']/td");
        EXPECT_THAT(cells, ::testing::Contains(std::string(kHostileDevice)));
        EXPECT_THAT(cells, ::testing::Contains(std::string(kHostileRecipient)));
        EXPECT_THAT(d.one("//title"), HasSubstr("hostile<script>document.title='pwned3'</script>"));
        // Invalid UTF-8 becomes U+FFFD, control characters a visible \xNN.
        EXPECT_THAT(cells, ::testing::Contains(HasSubstr("bad-\xEF\xBF\xBD\xEF\xBF\xBD-utf8-")));
        EXPECT_THAT(cells, ::testing::Contains(HasSubstr("rcpt-\\x01\\x1B[31m-")));
        EXPECT_THAT(html, Not(HasSubstr("\x01")));
        EXPECT_THAT(html, Not(HasSubstr("\xff")));
        // The body's javascript: URL is text in the message, never an href.
        EXPECT_EQ(d.count("//a[contains(@href,'javascript')]"), 0u);
        EXPECT_THAT(html, HasSubstr("javascript:alert(1)"));
        if (!print) {
            EXPECT_THAT(d.all("//div[@id='messages']/pre"), ::testing::Contains(HasSubstr("</pre></td></tr></tbody></table><script>")));
            EXPECT_THAT(d.all("//article[@class='dev']/h3"), ::testing::Contains(std::string(kHostileDevice)));
            EXPECT_THAT(d.all("//svg//rect[@class='gap']/title"), ::testing::Contains(HasSubstr("<script>document.title='pwned7'</script>")));
        }
    }
}

TEST_F(Formats, GivenBenchBoards_WhenRendered_ThenTheRunSectionTablesThemEscaped) {
    dir_ = test_dir();
    built_ = build(dir_, kPolicy, kTrace);
    Report& r = built_->report;
    r.meta.info.extra["boards"] = nlohmann::json::array(
        {{{"device", "thermo-1"}, {"port", "/dev/pts/3"}, {"board", "mps2-an385<script>x</script>"}, {"clock_drift_ppm", 12.5}}});
    r.meta.info.extra["time_scale"] = 60;
    const Doc d = Doc::html(render_html(r));
    expect_safe_page(d, false);
    EXPECT_EQ(d.all("//h3[.='boards']/following-sibling::table[1]//th"),
              (std::vector<std::string>{"device", "board", "clock_drift_ppm", "port"}));
    EXPECT_THAT(d.all("//table[@class='extra']//td"), ::testing::Contains("mps2-an385<script>x</script>"));
    EXPECT_THAT(d.all("//table[@id='meta']//th"), ::testing::Contains("time_scale"));
}

// ---- JSON -----------------------------------------------------------------------------------

TEST_F(Formats, GivenFixture_WhenWrittenAsJson_ThenSchemaHoldsProtocolMinimumAndEverythingTheHtmlShows) {
    const Report& r = fixture();
    const auto j = nlohmann::json::parse(*report_json(r));
    EXPECT_EQ(j["schema"], "consentrig-report");
    EXPECT_EQ(j["version"], kReportSchemaVersion);
    EXPECT_EQ(j["verdict"], "FAIL");
    // PROTOCOL.md §4: findings with type, device, recipient, category, t, evidence; summary counts.
    ASSERT_EQ(j["findings"].size(), r.findings->size());
    for (std::size_t i = 0; i < j["findings"].size(); ++i) {
        const auto& f = j["findings"][i];
        for (const char* k : {"type", "device", "recipient", "category", "t", "evidence", "provisions"}) EXPECT_TRUE(f.contains(k)) << k;
        EXPECT_EQ(f["id"], i);
        EXPECT_TRUE(f["evidence"].is_object());
    }
    EXPECT_EQ(j["summary"]["total"], 4);
    EXPECT_EQ(j["summary"]["out_of_window"], 2);
    ASSERT_EQ(j["provisions"].size(), 6u);
    EXPECT_EQ(j["provisions"][0]["id"], "EN303645-6-1");
    EXPECT_EQ(j["provisions"][2]["verdict"], "FAIL");
    EXPECT_EQ(j["mapping"]["by_type"]["after_revocation"], nlohmann::json::array({"EN303645-6-3", "GDPR-7-3"}));
    EXPECT_EQ(j["metadata"]["scenario"], "fixture");
    EXPECT_EQ(j["metadata"]["seed"], 7);
    EXPECT_EQ(j["metadata"]["scenario_sha256"], "0123456789abcdef");
    EXPECT_EQ(j["metadata"]["source"], "sim");
    EXPECT_EQ(j["aggregates"]["ranked"][0]["device"], "thermo-1");
    EXPECT_EQ(j["timelines"][0]["device"], "thermo-1");
    const auto& lanes = j["timelines"][0]["recipients"];
    ASSERT_EQ(lanes.size(), 2u);
    EXPECT_EQ(lanes[1]["recipient"], "voice-partner");
    EXPECT_EQ(lanes[1]["bands"][0]["category"], "temperature");
    EXPECT_EQ(lanes[1]["bands"][0]["consent"][0], nlohmann::json::array({"2026-01-05T09:00:00.000Z", "2026-01-05T09:02:00.000Z"}));
    EXPECT_TRUE(j["coverage"]["untested"].is_array());
    EXPECT_EQ(j["coverage"]["revocations"], 1);
    // Deterministic.
    EXPECT_EQ(*report_json(r), *report_json(r));
}

TEST_F(Formats, GivenHostileTrace_WhenWrittenAsJson_ThenValidJsonWithReplacementCharacters) {
    const Report& r = hostile();
    const std::string text = *report_json(r);
    const auto j = nlohmann::json::parse(text, nullptr, false);
    ASSERT_FALSE(j.is_discarded());
    bool found = false;
    for (const auto& f : j["findings"]) found = found || f["device"] == std::string(kHostileDevice);
    EXPECT_TRUE(found);
    EXPECT_THAT(text, HasSubstr("bad-\xEF\xBF\xBD"));
}

// ---- Markdown -------------------------------------------------------------------------------

/// Cells of a Markdown table row: split on `|` not preceded by a backslash.
std::vector<std::string> md_cells(const std::string& row) {
    std::vector<std::string> cells;
    std::string cur;
    for (std::size_t i = 1; i < row.size(); ++i) {
        if (row[i] == '|' && row[i - 1] != '\\') {
            cells.push_back(trim(cur));
            cur.clear();
        } else {
            cur += row[i];
        }
    }
    return cells;
}

/// Undoes markdown_escape (what a renderer shows).
std::string md_text(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
            out += s[++i];
        } else if (s.compare(i, 4, "&lt;") == 0) {
            out += '<', i += 3;
        } else if (s.compare(i, 4, "&gt;") == 0) {
            out += '>', i += 3;
        } else if (s.compare(i, 5, "&amp;") == 0) {
            out += '&', i += 4;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

TEST_F(Formats, GivenFixture_WhenSummarisedAsMarkdown_ThenVerdictProvisionsAndLeakTable) {
    const Report& r = fixture();
    const std::string md = render_markdown(r);
    const auto lines = lines_of(md);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(md_text(lines[0]), "## consentrig: fixture — FAIL");
    std::vector<std::vector<std::string>> rows;
    for (const auto& l : lines) {
        if (!l.empty() && l[0] == '|') rows.push_back(md_cells(l));
    }
    // provision table (header, rule, 6 rows), leak table (header, rule, 3), devices (header, rule, 1)
    ASSERT_EQ(rows.size(), 8u + 5u + 3u);
    EXPECT_EQ(rows[0], (std::vector<std::string>{"provision", "verdict", "findings"}));
    EXPECT_THAT(md_text(rows[3][0]), HasSubstr("ETSI EN 303 645 provision 6-2"));
    EXPECT_THAT(rows[3][1], HasSubstr("FAIL"));
    EXPECT_EQ(rows[8], (std::vector<std::string>{"leak class", "findings"}));
    EXPECT_EQ(md_text(rows[15][0]), "thermo-1");
    EXPECT_THAT(md, HasSubstr("Not tested by this run"));
    EXPECT_LT(md.size(), 4000u);  // short enough for a PR comment
}

TEST_F(Formats, GivenHostileTrace_WhenSummarisedAsMarkdown_ThenNoMarkupAndTablesKeepTheirShape) {
    const Report& r = hostile();
    const std::string md = render_markdown(r);
    EXPECT_THAT(md, Not(HasSubstr("<script")));
    EXPECT_THAT(md, Not(HasSubstr("<a ")));
    EXPECT_THAT(md, Not(HasSubstr("](")));  // no link syntax survives unescaped
    EXPECT_THAT(md, Not(HasSubstr("\x01")));
    for (const auto& l : lines_of(md)) {
        if (l.empty() || l[0] != '|') continue;
        const auto cells = md_cells(l);
        EXPECT_TRUE(cells.size() == 2 || cells.size() == 3) << l;
        for (const auto& c : cells) {
            // Any backtick is escaped: no code span can open.
            for (std::size_t i = 0; i < c.size(); ++i) {
                if (c[i] == '`') {
                    EXPECT_EQ(c[i - 1], '\\') << c;
                }
            }
        }
    }
    bool device_row = false;
    for (const auto& l : lines_of(md)) {
        if (l.empty() || l[0] != '|') continue;
        const auto cells = md_cells(l);
        if (!cells.empty() && md_text(cells[0]) == kHostileDevice) device_row = true;
    }
    EXPECT_TRUE(device_row);
}

TEST(MarkdownEscape, GivenMarkupAndPunctuation_ThenEverythingIsEscaped) {
    EXPECT_EQ(markdown_escape("a|b`c*d_[e](f)<g>&"), "a\\|b\\`c\\*d\\_\\[e\\]\\(f\\)&lt;g&gt;&amp;");
    EXPECT_EQ(markdown_escape("line\nbreak\x01"), "line\\x0Abreak\\x01");
    EXPECT_EQ(markdown_escape("\xff"), "\xEF\xBF\xBD");
}

// ---- JUnit ----------------------------------------------------------------------------------

TEST_F(Formats, GivenHostileTrace_WhenWrittenAsJunit_ThenWellFormedWithLiteralText) {
    const Report& r = hostile();
    JunitSuite suite{"hostile<script>", {}, r.findings, 0.5};
    const std::string xml = *junit_xml({suite});
    const Doc d = Doc::xml(xml);
    ASSERT_TRUE(d.ok()) << xml.substr(0, 400);
    EXPECT_EQ(d.count("/testsuites/testsuite"), 1u);
    EXPECT_EQ(d.one("/testsuites/testsuite/@name"), "hostile<script>");
    const auto classnames = d.all("//testcase/@classname");
    EXPECT_THAT(classnames, ::testing::Contains(std::string("hostile<script>.") + kHostileDevice));
    EXPECT_GE(d.count("//testcase/failure"), 2u);
    EXPECT_EQ(d.count("//script"), 0u);
}

TEST_F(Formats, GivenFixture_WhenWrittenAsJunit_ThenOneTestcasePerDeviceAndLeakClass) {
    const Report& r = fixture();
    JunitSuite suite{"fixture", {"thermo-1"}, r.findings, 1.0};
    const Doc d = Doc::xml(*junit_xml({suite}));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d.count("//testcase"), core::kFindingTypeCount);
    EXPECT_EQ(d.count("//testcase[failure]"), 3u);
    EXPECT_EQ(d.one("//testcase[@name='after_revocation']/failure/@type"), "after_revocation");
    EXPECT_THAT(d.one("//testcase[@name='after_revocation']/system-out"), HasSubstr("consent_at_send"));
}

}  // namespace
