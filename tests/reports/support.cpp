#include "support.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

namespace consentrig::reports::testing {

fs::path test_dir(const std::string& tag) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info ? std::string(info->test_suite_name()) + "-" + info->name() : "reports";
    std::replace(name.begin(), name.end(), '/', '_');
    const fs::path dir = fs::temp_directory_path() / ("consentrig-reports-" + name + tag + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::unique_ptr<Built> build(const fs::path& dir, const std::string& policy_yaml, const std::string& trace_jsonl,
                             std::vector<core::Finding> extra, ReportOptions options) {
    auto b = std::make_unique<Built>();
    b->dir = dir;
    write_text(dir / "policy.yaml", policy_yaml);
    write_text(dir / "trace.jsonl", trace_jsonl);
    auto policy = core::load_policy_file(dir / "policy.yaml");
    if (!policy) throw std::runtime_error(policy.error().message);
    b->policy = std::move(*policy);
    auto taxonomy = core::Taxonomy::builtin();
    if (!taxonomy) throw std::runtime_error(taxonomy.error().message);
    b->taxonomy = std::move(*taxonomy);
    auto judged = judge_trace(b->policy, b->taxonomy, dir / "trace.jsonl");
    if (!judged) throw std::runtime_error(judged.error().message);
    b->judged = std::move(*judged);
    for (std::size_t i = 0; i < b->judged.findings.size(); ++i) extra.push_back(*b->judged.findings.load(i));
    b->findings = core::FindingList::from(std::move(extra));
    b->findings.sort();
    ReportInput in;
    in.policy = &b->policy;
    in.taxonomy = &b->taxonomy;
    in.oracle = b->judged.oracle.get();
    in.findings = &b->findings;
    in.trace = dir / "trace.jsonl";
    in.info.scenario = b->judged.meta.scenario;
    in.info.version = "test";
    in.info.command = "test";
    in.info.seed = 7;
    in.info.scenario_sha256 = "0123456789abcdef";
    in.info.start = b->judged.meta.start.value_or(b->judged.first);
    in.info.end = b->judged.last + 1;
    auto report = build_report(in, options);
    if (!report) throw std::runtime_error(report.error().message);
    b->report = std::move(*report);
    return b;
}

const char* const kPolicy = R"(timezone: Europe/Berlin
consent:
  - recipient: voice-partner
    categories: [temperature, setpoint]
    basis: interaction
    within: 120s
  - recipient: vendor-cloud
    categories: [all]
    basis: schedule
    windows: ["Mon-Fri 08:00-20:00"]
)";

// Berlin is UTC+1 in January: the vendor window is 07:00Z–19:00Z on Monday 2026-01-05.
const char* const kTrace =
    R"({"kind":"meta","version":1,"scenario":"fixture","source":"sim","start":"2026-01-05T06:00:00.000Z","timezone":"Europe/Berlin"}
{"kind":"truth","t":"2026-01-05T06:00:00.000Z","device":"thermo-1","state":{"temperature":20.0,"setpoint":21.0,"occupancy":true}}
{"kind":"egress","t":"2026-01-05T07:05:00.000Z","device":"thermo-1","to":"vendor-cloud","format":"json","body":{"state":{"temperature":20.1}}}
{"kind":"interaction","t":"2026-01-05T09:00:00.000Z","device":"thermo-1","via":"voice","recipient":"voice-partner","action":"query"}
{"kind":"egress","t":"2026-01-05T09:00:01.000Z","device":"thermo-1","to":"voice-partner","format":"json","body":{"temperature":20.2}}
{"kind":"egress","t":"2026-01-05T09:30:00.000Z","device":"thermo-1","to":"voice-partner","format":"json","body":{"temperature":20.3}}
{"kind":"egress","t":"2026-01-05T09:31:00.000Z","device":"thermo-1","to":"voice-partner","format":"json","body":{"occupancy":true}}
{"kind":"consent","t":"2026-01-05T10:00:00.000Z","device":"thermo-1","recipient":"vendor-cloud","categories":["temperature"],"granted":false}
{"kind":"egress","t":"2026-01-05T10:30:00.000Z","device":"thermo-1","to":"vendor-cloud","format":"json","body":{"state":{"temperature":20.4}}}
{"kind":"gap","from":"2026-01-05T12:00:00.000Z","to":"2026-01-05T12:30:00.000Z","device":"thermo-1","reason":"board disconnected"}
{"kind":"truth","t":"2026-01-05T18:50:00.000Z","device":"thermo-1","state":{"temperature":21.0}}
{"kind":"egress","t":"2026-01-05T20:00:00.000Z","device":"thermo-1","to":"vendor-cloud","format":"json","body":{"state":{"humidity":40}}}
)";

const char* const kCleanTrace =
    R"({"kind":"meta","version":1,"scenario":"clean","source":"bench","start":"2026-01-05T06:00:00.000Z","timezone":"Europe/Berlin"}
{"kind":"egress","t":"2026-01-05T07:05:00.000Z","device":"thermo-1","to":"vendor-cloud","format":"json","body":{"state":{"temperature":20.1}}}
{"kind":"interaction","t":"2026-01-05T09:00:00.000Z","device":"thermo-1","via":"voice","recipient":"voice-partner","action":"query"}
{"kind":"egress","t":"2026-01-05T09:00:01.000Z","device":"thermo-1","to":"voice-partner","format":"json","body":{"temperature":20.2}}
{"kind":"egress","t":"2026-01-05T12:00:00.000Z","device":"thermo-1","to":"vendor-cloud","format":"json","body":{"state":{"setpoint":21}}}
)";

const char* const kHostileDevice =
    "thermo-<script>document.title='pwned';document.body.appendChild(document.createElement('pwned'))</script>\"'&";
const char* const kHostileRecipient = "evil</svg><script>document.title='pwned2'</script><a href=\"javascript:alert(1)\">x</a>";

const char* const kHostilePolicy = R"(timezone: UTC
consent:
  - recipient: vendor-cloud
    categories: [temperature]
    basis: always
)";

// Device-supplied text in every slot a trace has: ids, recipient, body keys and values (markup,
// quotes, a javascript: URL, escaped control characters, U+2028), a gap reason.
const char* const kHostileTrace =
    R"JSONL({"kind":"meta","version":1,"scenario":"hostile<script>document.title='pwned3'</script>","source":"bench","start":"2026-01-05T00:00:00.000Z","timezone":"UTC"}
{"kind":"egress","t":"2026-01-05T01:00:00.000Z","device":"thermo-<script>document.title='pwned';document.body.appendChild(document.createElement('pwned'))</script>\"'&","to":"evil</svg><script>document.title='pwned2'</script><a href=\"javascript:alert(1)\">x</a>","format":"json","body":{"temperature":20.5,"<img src=x onerror=\"document.title='pwned4'\">":"javascript:alert(1)","note":"\u0001\u001b[31mred\u2028line</script><script>document.title='pwned5'</script>"}}
{"kind":"egress","t":"2026-01-05T02:00:00.000Z","device":"thermo-<script>document.title='pwned';document.body.appendChild(document.createElement('pwned'))</script>\"'&","to":"vendor-cloud","format":"json","body":{"occupancy":"</pre></td></tr></tbody></table><script>document.title='pwned6'</script>"}}
{"kind":"gap","from":"2026-01-05T03:00:00.000Z","to":"2026-01-05T03:10:00.000Z","device":"thermo-<script>document.title='pwned';document.body.appendChild(document.createElement('pwned'))</script>\"'&","reason":"<script>document.title='pwned7'</script>"}
{"kind":"egress","t":"2026-01-05T04:00:00.000Z","device":"lock-\u0007bell","to":"vendor-cloud","format":"json","body":{"temperature":"]]><!-- --><![CDATA[x"}}
)JSONL";

std::vector<core::Finding> invalid_utf8_findings() {
    core::Finding f;
    f.type = core::FindingType::unconsented_recipient;
    f.device = std::string("bad-\xff\xfe-utf8-\xc3\x28-<b>bold</b>");
    f.recipient = std::string("rcpt-\x01\x1b[31m-\xed\xa0\x80-|`[x](javascript:alert(1))");
    f.category = core::Category::temperature;
    f.t = 1767575400000;  // 2026-01-05T01:10:00Z
    f.evidence = nlohmann::json::object();
    f.evidence["reason"] = std::string("invalid \xff bytes <script>document.title='pwned8'</script>");
    f.evidence["message"] = {{"k", std::string("\xc0\xaf</pre><script>document.title='pwned9'</script>")}};
    return {f};
}

}  // namespace consentrig::reports::testing
