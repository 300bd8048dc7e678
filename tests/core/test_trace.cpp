// tests/core/test_trace.cpp — trace JSONL v1 (PROTOCOL.md §2), the readers, the SQLite store,
// import/export. Names read GIVEN_…_WHEN_…_THEN_….
#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/trace.hpp"
#include "tests/core/file_size_limit.hpp"
#include "core/trace_journal.hpp"

// Records are built with C++20 designated initializers naming only the fields that matter;
// the rest take their defaults, which is what this GCC warning complains about.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace fs = std::filesystem;
using namespace consentrig::core;
using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace {

/// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
public:
    TempDir() {
        static std::atomic<int> counter{0};
        std::random_device rd;
        path_ = fs::temp_directory_path() /
                ("consentrig-trace-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
                 std::to_string(rd()));
        fs::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] fs::path operator/(const std::string& name) const { return path_ / name; }

private:
    fs::path path_;
};

void write_file(const fs::path& p, const std::string& content) {
    std::ofstream out(p, std::ios::binary);
    out << content;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

const TimeMs kT0 = *parse_rfc3339("2026-01-05T03:12:09.120Z");

/// Everything a source yields, plus the error that ended it (empty when it ended cleanly).
struct Drained {
    std::vector<Record> records;
    std::string error;
};
Drained drain(TraceSource& src) {
    Drained d;
    for (;;) {
        auto r = src.next();
        if (!r) {
            d.error = r.error().message;
            return d;
        }
        if (!*r) return d;
        d.records.push_back(std::move(**r));
    }
}

Record parse_ok(std::string_view line, std::uint64_t no = 1) {
    auto r = parse_record(line, no);
    EXPECT_TRUE(r.ok()) << line << " → " << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : Record{};
}

std::string parse_error(std::string_view line, std::uint64_t no) {
    auto r = parse_record(line, no);
    EXPECT_FALSE(r.ok()) << line;
    return r.ok() ? std::string{} : r.error().message;
}

const char* const kMeta =
    R"({"kind":"meta","version":1,"scenario":"proactive-state","source":"sim","start":"2026-01-05T00:00:00.000Z","timezone":"Europe/Berlin"})";

/// A well-formed trace: meta, every kind, an unknown kind, hostile strings. Ends with "\n".
std::string sample_trace() {
    return std::string(kMeta) + "\n" +
           R"({"kind":"link","t":"2026-01-05T00:00:00.000Z","device":"*","recipient":"voice-partner","linked":true})" "\n"
           R"({"kind":"consent","t":"2026-01-05T00:00:00.000Z","device":"thermo-1","recipient":"voice-partner","categories":["temperature","setpoint"],"granted":true})" "\n"
           R"({"kind":"truth","t":"2026-01-05T00:00:01.000Z","device":"thermo-1","state":{"temperature":20.5,"hvac_mode":"heat"}})" "\n"
           R"({"kind":"interaction","t":"2026-01-05T00:00:02.000Z","device":"thermo-1","via":"voice","recipient":"voice-partner","action":"set_setpoint"})" "\n"
           R"({"kind":"egress","t":"2026-01-05T00:00:02.500Z","device":"thermo-1","to":"voice-partner","format":"alexa","body":{"event":{"header":{"name":"ChangeReport"}},"note":"</script>\"\\\u0000 😀"}})" "\n"
           R"({"kind":"future-thing","t":"2026-01-05T00:00:03.000Z","device":"thermo-1","x":[1,2,3]})" "\n"
           R"({"kind":"gap","from":"2026-01-05T00:00:04.000Z","to":"2026-01-05T00:00:09.000Z","device":"thermo-1","reason":"board disconnected"})" "\n"
           R"({"kind":"consent","t":"2026-01-05T00:00:10.000Z","device":"thermo-1","recipient":"voice-partner","categories":["all"],"granted":false})" "\n"
           R"({"kind":"egress","t":"2026-01-05T00:00:11.000Z","device":"lock-front","to":"vendor-cloud","format":"json","body":{"lock_state":"unlocked","n":1.5e3}})" "\n";
}

}  // namespace

// ───────────────────────────── parse: every kind, exact values ─────────────────────────────

TEST(TraceParse, GIVEN_egress_line_WHEN_parsed_THEN_every_field_is_exact_and_body_is_minified_source_text) {
    const Record r = parse_ok(
        R"({"kind":"egress","t":"2026-01-05T03:12:09.120Z","device":"thermo-1","to":"voice-partner","format":"alexa","body": { "a" : [1, 2.50, "x y"], "b":{ } } })",
        7);
    EXPECT_EQ(r.kind, RecordKind::egress);
    EXPECT_EQ(r.t, kT0);
    EXPECT_EQ(r.device, "thermo-1");
    EXPECT_EQ(r.recipient, "voice-partner");
    EXPECT_EQ(r.format, "alexa");
    EXPECT_EQ(r.payload, R"({"a":[1,2.50,"x y"],"b":{}})");  // numbers keep their source spelling
    EXPECT_EQ(r.line, 7u);
}

TEST(TraceParse, GIVEN_interaction_lines_WHEN_parsed_THEN_recipient_and_action_are_exact_and_optional_for_physical) {
    const Record v = parse_ok(
        R"({"kind":"interaction","t":"2026-01-05T03:12:09.120Z","device":"thermo-1","via":"voice","recipient":"voice-partner","action":"set_setpoint"})");
    EXPECT_EQ(v.kind, RecordKind::interaction);
    EXPECT_EQ(v.t, kT0);
    EXPECT_EQ(v.device, "thermo-1");
    EXPECT_EQ(v.via, "voice");
    EXPECT_EQ(v.recipient, "voice-partner");
    EXPECT_EQ(v.action, "set_setpoint");

    const Record p = parse_ok(R"({"kind":"interaction","t":"2026-01-05T03:12:09.120Z","device":"lock-front","via":"physical"})");
    EXPECT_EQ(p.via, "physical");
    EXPECT_EQ(p.recipient, "");
    EXPECT_EQ(p.action, "");
}

TEST(TraceParse, GIVEN_consent_lines_WHEN_parsed_THEN_categories_granted_and_wildcard_device_are_exact) {
    const Record c = parse_ok(
        R"({"kind":"consent","t":"2026-01-05T03:12:09.120Z","device":"*","recipient":"voice-partner","categories":["temperature","lock_state"],"granted":false})");
    EXPECT_EQ(c.kind, RecordKind::consent);
    EXPECT_EQ(c.t, kT0);
    EXPECT_EQ(c.device, "*");
    EXPECT_EQ(c.recipient, "voice-partner");
    CategorySet expected;
    insert(expected, Category::temperature);
    insert(expected, Category::lock_state);
    EXPECT_EQ(c.categories, expected);
    EXPECT_FALSE(c.flag);

    const Record all = parse_ok(
        R"({"kind":"consent","t":"2026-01-05T03:12:09.120Z","device":"thermo-1","recipient":"r","categories":["all"],"granted":true})");
    EXPECT_TRUE(all.categories.all());
    EXPECT_TRUE(all.flag);
}

TEST(TraceParse, GIVEN_link_line_WHEN_parsed_THEN_recipient_and_linked_are_exact) {
    const Record l = parse_ok(
        R"({"kind":"link","t":"2026-01-05T03:12:09.120Z","device":"thermo-1","recipient":"voice-partner","linked":false})");
    EXPECT_EQ(l.kind, RecordKind::link);
    EXPECT_EQ(l.t, kT0);
    EXPECT_EQ(l.device, "thermo-1");
    EXPECT_EQ(l.recipient, "voice-partner");
    EXPECT_FALSE(l.flag);
    EXPECT_TRUE(parse_ok(R"({"kind":"link","t":"2026-01-05T03:12:09.120Z","device":"x","recipient":"r","linked":true})").flag);
}

TEST(TraceParse, GIVEN_truth_line_WHEN_parsed_THEN_state_is_the_minified_object) {
    const Record t = parse_ok(R"({"kind":"truth","t":"2026-01-05T03:12:09.120Z","device":"lock-front","state":{ "lock_state" : "unlocked" }})");
    EXPECT_EQ(t.kind, RecordKind::truth);
    EXPECT_EQ(t.t, kT0);
    EXPECT_EQ(t.device, "lock-front");
    EXPECT_EQ(t.payload, R"({"lock_state":"unlocked"})");
}

TEST(TraceParse, GIVEN_gap_lines_WHEN_parsed_THEN_from_to_and_reason_are_exact) {
    const Record g = parse_ok(
        R"({"kind":"gap","from":"2026-01-05T03:12:09.120Z","to":"2026-01-05T03:12:10.000Z","device":"thermo-1","reason":"board disconnected"})");
    EXPECT_EQ(g.kind, RecordKind::gap);
    EXPECT_EQ(g.t, kT0);
    EXPECT_EQ(g.t_end, kT0 + 880);
    EXPECT_EQ(g.device, "thermo-1");
    EXPECT_EQ(g.payload, "board disconnected");
    const Record all = parse_ok(R"({"kind":"gap","from":"2026-01-05T03:12:09.120Z","to":"2026-01-05T03:12:09.120Z","device":"*"})");
    EXPECT_EQ(all.device, "*");
    EXPECT_EQ(all.payload, "");
}

TEST(TraceParse, GIVEN_meta_line_WHEN_parsed_THEN_parse_meta_gives_every_field_and_parse_record_gives_kind_meta) {
    auto m = parse_meta(kMeta, 1);
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_EQ(m->version, 1);
    EXPECT_EQ(m->scenario, "proactive-state");
    EXPECT_EQ(m->source, "sim");
    EXPECT_EQ(m->start, parse_rfc3339("2026-01-05T00:00:00.000Z"));
    EXPECT_EQ(m->timezone, "Europe/Berlin");
    EXPECT_EQ(parse_ok(kMeta).kind, RecordKind::meta);

    auto v2 = parse_meta(R"({"kind":"meta","version":2})", 1);
    ASSERT_FALSE(v2.ok());
    EXPECT_THAT(v2.error().message, HasSubstr("version 2"));
    EXPECT_FALSE(parse_meta(R"({"kind":"egress"})", 1).ok());
}

TEST(TraceParse, GIVEN_kind_not_first_and_extra_keys_WHEN_parsed_THEN_the_record_is_the_same) {
    const Record a = parse_ok(R"({"kind":"link","t":"2026-01-05T03:12:09.120Z","device":"d","recipient":"r","linked":true})");
    const Record b = parse_ok(
        R"({"extra":{"deep":[1,{"x":null}]},"linked":true,"recipient":"r","device":"d","t":"2026-01-05T03:12:09.120Z","kind":"link","z":false})");
    EXPECT_EQ(a, b);
    // Keys spelled with escapes are the same keys.
    const Record c = parse_ok(R"({"\u006bind":"link","t":"2026-01-05T03:12:09.120Z","device":"d","recipient":"r","linked":true})");
    EXPECT_EQ(a, c);
}

// ───────────────────────────── parse: malformed lines ─────────────────────────────

TEST(TraceParse, GIVEN_malformed_lines_WHEN_parsed_THEN_each_error_names_the_line_and_the_problem) {
    struct Case {
        std::uint64_t line;
        std::string text;
        std::string message;  // exact, or a prefix when it ends with "…"
    };
    const std::string t = R"("t":"2026-01-05T03:12:09.120Z")";
    const std::vector<Case> cases = {
        {17, R"({"kind":"egress",)" + t + R"(,"device":"d","format":"json","body":{}})", R"(line 17: egress: missing "to")"},
        {3, R"({"kind":"egress","t":"yesterday","device":"d","to":"r","format":"json","body":{}})",
         R"(line 3: "t" is not an RFC 3339 time: "yesterday")"},
        {9, R"({"kind":"egress",)" + t + R"(,"device":"d","to":"r","format":"json","body":{"a":tru}})", "line 9: invalid JSON: …"},
        {9, R"({"kind":"egress",)" + t + R"(,"device":"d","to":"r","format":"json","body":{"a":1 "b":2}})", "line 9: invalid JSON: …"},
        {9, R"({"kind":"link",)" + t + R"(,"device":"d","recipient":"r","linked":true,"x":01})", "line 9: invalid JSON: …"},
        {9, R"({"kind":"link",)" + t + R"(,"device":"d","recipient":"r","linked":true}{})", "line 9: invalid JSON: …"},
        {9, R"({"kind":"link",)" + t + R"(,"device":"d","recipient":"r","linked":true)", "line 9: invalid JSON: …"},
        {9, "{\"kind\":\"link\",\"x\":\"tab\there\"}", "line 9: invalid JSON: …"},
        {4, R"({"kind":"consent",)" + t + R"(,"device":"d","recipient":"r","categories":["temperature","humdity"],"granted":true})",
         R"(line 4: consent: unknown category "humdity")"},
        {5, "{\"kind\":\"truth\"," + t + ",\"device\":\"d\",\"state\":{\"a\":\"\xff\xfe\"}}", "line 5: invalid UTF-8"},
        {2, R"({"kind":"egress",)" + t + R"(,"device":"d","to":"r","format":"json","body":"{}"})", R"(line 2: egress: "body" must be an object)"},
        {2, R"({"kind":"truth",)" + t + R"(,"device":"d","state":[1]})", R"(line 2: truth: "state" must be an object)"},
        {6, R"({"kind":"link",)" + t + R"(,"device":"d","recipient":"r","linked":"yes"})", R"(line 6: link: "linked" must be true or false)"},
        {6, R"({"kind":"consent",)" + t + R"(,"device":"d","recipient":"r","categories":"all","granted":true})",
         R"(line 6: consent: "categories" must be a list of category names)"},
        {6, R"({"kind":"consent",)" + t + R"(,"device":"d","recipient":"r","categories":[],"granted":true})",
         R"(line 6: consent: "categories" must name at least one category)"},
        {8, R"({"kind":"link",)" + t + R"(,"device":"d","device":"e","recipient":"r","linked":true})", R"(line 8: duplicate "device")"},
        {8, R"({"kind":"link",)" + t + R"(,"device":7,"recipient":"r","linked":true})", R"(line 8: link: "device" must be a string)"},
        {8, R"({"kind":"link",)" + t + R"(,"device":"","recipient":"r","linked":true})", R"(line 8: link: "device" is empty)"},
        {8, R"({"kind":"egress",)" + t + R"(,"device":"*","to":"r","format":"json","body":{}})",
         R"(line 8: egress: "device" may be "*" only in consent, link and gap lines)"},
        {8, R"({"kind":"interaction",)" + t + R"(,"device":"d","via":"voice"})", R"(line 8: interaction: missing "recipient")"},
        {8, R"({"kind":"interaction",)" + t + R"(,"device":"d","via":"telepathy","recipient":"r"})",
         R"(line 8: interaction: "via" must be "voice", "app" or "physical", not "telepathy")"},
        {8, R"({"kind":"gap","from":"2026-01-05T03:12:09.120Z","to":"2026-01-05T03:12:08.000Z","device":"d"})",
         R"(line 8: gap: "to" is before "from")"},
        {8, R"({"kind":"gap","from":"2026-01-05T03:12:09.120Z","to":"soon","device":"d"})", R"(line 8: "to" is not an RFC 3339 time: "soon")"},
        {8, R"({"t":"2026-01-05T03:12:09.120Z"})", R"(line 8: missing "kind")"},
        {8, R"({"kind":5})", R"(line 8: "kind" must be a string)"},
        {8, R"(["kind","egress"])", "line 8: not a JSON object"},
        {8, "", "line 8: invalid JSON: …"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.text);
        const std::string got = parse_error(c.text, c.line);
        if (c.message.size() >= 3 && c.message.compare(c.message.size() - 3, 3, "…") == 0) {
            EXPECT_THAT(got, StartsWith(c.message.substr(0, c.message.size() - 3)));
        } else {
            EXPECT_EQ(got, c.message);
        }
    }
}

TEST(TraceParse, GIVEN_unknown_kind_WHEN_parsed_THEN_error_starts_with_unknown_kind_and_names_it) {
    EXPECT_EQ(parse_error(R"({"kind":"future-thing","t":"2026-01-05T03:12:09.120Z"})", 4), R"(unknown kind "future-thing")");
    // ...but an unknown kind does not excuse broken JSON.
    EXPECT_THAT(parse_error(R"({"kind":"future-thing","x":[1,}})", 4), StartsWith("line 4: invalid JSON"));
}

// ───────────────────────────── serialise ─────────────────────────────

TEST(TraceSerialise, GIVEN_each_kind_WHEN_serialised_THEN_keys_follow_protocol_order_compactly) {
    Record e{.kind = RecordKind::egress, .t = kT0, .device = "thermo-1", .recipient = "voice-partner", .format = "alexa",
             .payload = R"({"a":1})"};
    EXPECT_EQ(to_jsonl(e),
              R"({"kind":"egress","t":"2026-01-05T03:12:09.120Z","device":"thermo-1","to":"voice-partner","format":"alexa","body":{"a":1}})");
    Record i{.kind = RecordKind::interaction, .t = kT0, .device = "d", .recipient = "r", .via = "app", .action = "lock"};
    EXPECT_EQ(to_jsonl(i), R"({"kind":"interaction","t":"2026-01-05T03:12:09.120Z","device":"d","via":"app","recipient":"r","action":"lock"})");
    Record p{.kind = RecordKind::interaction, .t = kT0, .device = "d", .via = "physical"};
    EXPECT_EQ(to_jsonl(p), R"({"kind":"interaction","t":"2026-01-05T03:12:09.120Z","device":"d","via":"physical"})");
    Record c{.kind = RecordKind::consent, .t = kT0, .device = "*", .recipient = "r"};
    insert(c.categories, Category::setpoint);
    insert(c.categories, Category::temperature);
    EXPECT_EQ(to_jsonl(c),
              R"({"kind":"consent","t":"2026-01-05T03:12:09.120Z","device":"*","recipient":"r","categories":["temperature","setpoint"],"granted":false})");
    c.categories = all_categories();
    c.flag = true;
    EXPECT_EQ(to_jsonl(c), R"({"kind":"consent","t":"2026-01-05T03:12:09.120Z","device":"*","recipient":"r","categories":["all"],"granted":true})");
    Record l{.kind = RecordKind::link, .t = kT0, .device = "d", .recipient = "r", .flag = true};
    EXPECT_EQ(to_jsonl(l), R"({"kind":"link","t":"2026-01-05T03:12:09.120Z","device":"d","recipient":"r","linked":true})");
    Record t{.kind = RecordKind::truth, .t = kT0, .device = "d", .payload = R"({"battery":87})"};
    EXPECT_EQ(to_jsonl(t), R"({"kind":"truth","t":"2026-01-05T03:12:09.120Z","device":"d","state":{"battery":87}})");
    Record g{.kind = RecordKind::gap, .t = kT0, .t_end = kT0 + 1000, .device = "d", .payload = "cut"};
    EXPECT_EQ(to_jsonl(g), R"({"kind":"gap","from":"2026-01-05T03:12:09.120Z","to":"2026-01-05T03:12:10.120Z","device":"d","reason":"cut"})");

    TraceMeta m{.version = 1, .scenario = "s", .source = "bench", .start = kT0, .timezone = "UTC"};
    EXPECT_EQ(to_jsonl(m), R"({"kind":"meta","version":1,"scenario":"s","source":"bench","start":"2026-01-05T03:12:09.120Z","timezone":"UTC"})");
    auto back = parse_meta(to_jsonl(m), 1);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, m);
}

TEST(TraceSerialise, GIVEN_hostile_strings_WHEN_serialised_THEN_escaped_and_parsed_back_identically) {
    const std::vector<std::string> hostile = {
        "</script><script>alert(1)</script>", "\"quoted\"", "back\\slash\\", std::string("nul\0byte", 8),
        "ctl\x01\x1f\x7f", "line\nbreak\r\ttab\b\f", "emoji 😀 ünïcödé 中文", "\u2028\u2029", "{\"json\":true}", "'"};
    std::uint64_t no = 1;
    for (const auto& s : hostile) {
        SCOPED_TRACE(s);
        Record r{.kind = RecordKind::interaction, .t = kT0, .device = s, .recipient = s, .via = "app", .action = s};
        const std::string line = to_jsonl(r);
        EXPECT_EQ(line.find('\n'), std::string::npos);
        EXPECT_EQ(line.find(std::string(1, '\0')), std::string::npos);
        r.line = no;
        EXPECT_EQ(parse_ok(line, no), r);
        ++no;
    }
    EXPECT_EQ(to_jsonl(Record{.kind = RecordKind::gap, .t = 0, .t_end = 0, .device = "d", .payload = std::string("a\"\\\n\x01", 5)}),
              R"({"kind":"gap","from":"1970-01-01T00:00:00.000Z","to":"1970-01-01T00:00:00.000Z","device":"d","reason":"a\"\\\n\u0001"})");
}

TEST(TraceSerialise, GIVEN_invalid_utf8_in_a_string_WHEN_serialised_THEN_bad_bytes_become_replacement_characters) {
    Record r{.kind = RecordKind::link, .t = kT0, .device = "bad\xff\xc0\xafok\xe2\x82", .recipient = "r"};
    const std::string line = to_jsonl(r);
    const Record back = parse_ok(line);
    EXPECT_EQ(back.device, "bad\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDok\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(TraceSerialise, GIVEN_many_random_records_WHEN_serialised_and_parsed_THEN_each_round_trips_exactly) {
    std::mt19937_64 rng(20260105);
    const std::vector<std::string> pieces = {"thermo-1", "</script>", "\"", "\\", std::string(1, '\0'), "😀", "é", "\n",
                                             "\x1f", "voice-partner", " ", "*", "\u00e9\u0301", "{}", "[", "\\u0000"};
    auto text = [&](bool allow_empty) {
        std::string s;
        const int n = static_cast<int>(rng() % 5) + (allow_empty ? 0 : 1);
        for (int i = 0; i < n; ++i) s += pieces[rng() % pieces.size()];
        if (!allow_empty && (s.empty() || s == "*")) s += "x";
        return s;
    };
    auto payload = [&] {
        // A compact JSON object holding hostile strings and numbers in source spelling.
        std::string p = "{";
        const int n = static_cast<int>(rng() % 4);
        for (int i = 0; i < n; ++i) {
            if (i) p += ',';
            Record tmp{.kind = RecordKind::gap, .device = text(true)};
            const std::string enc = to_jsonl(tmp);  // borrow the string escaper
            const auto at = enc.find("\"device\":") + 9;
            const std::string key = enc.substr(at, enc.size() - at - 1);
            p += key + ":" + (i % 2 ? "[1,-2.5e3,true,null]" : key);
        }
        return p + "}";
    };
    for (std::uint64_t no = 1; no <= 3000; ++no) {
        Record r;
        r.kind = static_cast<RecordKind>(1 + rng() % 6);
        r.t = static_cast<TimeMs>(rng() % 4'000'000'000'000ULL);
        r.device = text(false);
        r.line = no;
        switch (r.kind) {
            case RecordKind::egress:
                r.recipient = text(false);
                r.format = text(false);
                r.payload = payload();
                break;
            case RecordKind::interaction:
                r.via = std::vector<std::string>{"voice", "app", "physical"}[rng() % 3];
                r.recipient = r.via == "physical" ? text(true) : text(false);
                r.action = text(true);
                break;
            case RecordKind::consent:
                r.categories = CategorySet(rng() % 1023 + 1);
                r.flag = rng() % 2 != 0;
                r.recipient = text(false);
                r.device = rng() % 4 == 0 ? "*" : r.device;
                break;
            case RecordKind::link:
                r.recipient = text(false);
                r.flag = rng() % 2 != 0;
                break;
            case RecordKind::truth:
                r.payload = payload();
                break;
            case RecordKind::gap:
                r.t_end = r.t + static_cast<TimeMs>(rng() % 100000);
                r.payload = text(true);
                break;
            case RecordKind::meta:
                break;
        }
        const std::string line = to_jsonl(r);
        auto back = parse_record(line, no);
        ASSERT_TRUE(back.ok()) << line << " → " << back.error().message;
        ASSERT_EQ(*back, r) << line;
        ASSERT_EQ(to_jsonl(*back), line);
    }
}

// ───────────────────────────── JSONL source ─────────────────────────────

TEST(TraceJsonl, GIVEN_meta_first_blank_lines_and_no_final_newline_WHEN_read_THEN_meta_at_open_and_records_with_file_line_numbers) {
    TempDir dir;
    std::string body = sample_trace();
    body.insert(body.find('\n') + 1, "\n   \r\n");  // blank lines 2 and 3
    body.pop_back();                               // no final newline
    write_file(dir / "trace.jsonl", body);
    auto src = open_trace(dir / "trace.jsonl");
    ASSERT_TRUE(src.ok()) << src.error().message;
    EXPECT_EQ((*src)->meta().scenario, "proactive-state");
    EXPECT_EQ((*src)->meta().timezone, "Europe/Berlin");
    const Drained d = drain(**src);
    EXPECT_EQ(d.error, "");
    ASSERT_EQ(d.records.size(), 8u);
    EXPECT_EQ(d.records.front().kind, RecordKind::link);
    EXPECT_EQ(d.records.front().line, 4u);
    EXPECT_EQ(d.records.back().device, "lock-front");
    EXPECT_EQ(d.records.back().line, 12u);
    EXPECT_EQ(d.records.back().payload, R"({"lock_state":"unlocked","n":1.5e3})");
    ASSERT_EQ((*src)->warnings().size(), 1u);
    EXPECT_EQ((*src)->warnings()[0], (dir / "trace.jsonl").string() + R"(: line 9: unknown kind "future-thing" skipped)");
    // Finished: stays finished.
    auto again = (*src)->next();
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(again->has_value());
}

TEST(TraceJsonl, GIVEN_meta_line_that_is_not_first_WHEN_read_THEN_it_is_skipped_with_a_warning) {
    TempDir dir;
    const std::string link = R"({"kind":"link","t":"2026-01-05T00:00:00.000Z","device":"d","recipient":"r","linked":true})";
    write_file(dir / "t.jsonl", link + "\n" + kMeta + "\n" + link + "\n");
    auto src = open_trace(dir / "t.jsonl");
    ASSERT_TRUE(src.ok());
    EXPECT_EQ((*src)->meta(), TraceMeta{});
    const Drained d = drain(**src);
    EXPECT_EQ(d.error, "");
    EXPECT_EQ(d.records.size(), 2u);
    ASSERT_EQ((*src)->warnings().size(), 1u);
    EXPECT_THAT((*src)->warnings()[0], HasSubstr("line 2: meta line is not the first line"));
}

TEST(TraceJsonl, GIVEN_malformed_line_WHEN_read_THEN_records_before_it_then_an_error_prefixed_with_the_file) {
    TempDir dir;
    const std::string link = R"({"kind":"link","t":"2026-01-05T00:00:00.000Z","device":"d","recipient":"r","linked":true})";
    write_file(dir / "trace.jsonl", link + "\n" + link + "\n" + R"({"kind":"link","t":"yesterday"})" + "\n" + link + "\n");
    auto src = open_trace(dir / "trace.jsonl");
    ASSERT_TRUE(src.ok());
    const Drained d = drain(**src);
    EXPECT_EQ(d.records.size(), 2u);
    EXPECT_EQ(d.error, (dir / "trace.jsonl").string() + R"(: line 3: "t" is not an RFC 3339 time: "yesterday")");
    auto after = (*src)->next();  // finished after an error
    ASSERT_TRUE(after.ok());
    EXPECT_FALSE(after->has_value());
}

TEST(TraceJsonl, GIVEN_truncated_final_line_WHEN_read_THEN_earlier_records_then_an_error_naming_that_line) {
    TempDir dir;
    std::string body = sample_trace();
    body.resize(body.size() - 30);  // cut the last line mid-JSON
    write_file(dir / "trace.jsonl", body);
    auto src = open_trace(dir / "trace.jsonl");
    ASSERT_TRUE(src.ok());
    const Drained d = drain(**src);
    EXPECT_EQ(d.records.size(), 7u);
    EXPECT_THAT(d.error, StartsWith((dir / "trace.jsonl").string() + ": line 10: invalid JSON"));
}

TEST(TraceJsonl, GIVEN_invalid_utf8_in_a_file_WHEN_read_THEN_the_error_names_file_and_line) {
    TempDir dir;
    write_file(dir / "trace.jsonl", std::string(kMeta) + "\n" +
                                        "{\"kind\":\"link\",\"t\":\"2026-01-05T00:00:00.000Z\",\"device\":\"d\xc3\x28\",\"recipient\":\"r\",\"linked\":true}\n");
    auto src = open_trace(dir / "trace.jsonl");
    ASSERT_TRUE(src.ok());
    EXPECT_EQ(drain(**src).error, (dir / "trace.jsonl").string() + ": line 2: invalid UTF-8");
}

TEST(TraceJsonl, GIVEN_a_100_MB_line_WHEN_read_THEN_error_names_the_line_quickly_with_bounded_memory) {
    TempDir dir;
    const std::string link = R"({"kind":"link","t":"2026-01-05T00:00:00.000Z","device":"d","recipient":"r","linked":true})";
    {
        std::ofstream out(dir / "big.jsonl", std::ios::binary);
        out << link << "\n" << R"({"kind":"egress","pad":")";
        const std::string chunk(1 << 20, 'a');
        for (int i = 0; i < 100; ++i) out << chunk;
        out << "\"}\n" << link << "\n";
    }
    rusage before{};
    getrusage(RUSAGE_SELF, &before);
    const auto started = std::chrono::steady_clock::now();
    auto src = open_trace(dir / "big.jsonl");
    ASSERT_TRUE(src.ok());
    const Drained d = drain(**src);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    EXPECT_EQ(d.records.size(), 1u);
    EXPECT_EQ(d.error, (dir / "big.jsonl").string() + ": line 2 is longer than 16 MiB");
    // The high-water mark may not grow by anything like the line's size (ru_maxrss is in KiB).
    EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 64L * 1024) << "peak RSS grew too much";
    std::cout << "[          ] 100 MB line rejected in " << seconds << " s\n";
}

TEST(TraceJsonl, GIVEN_a_line_of_exactly_the_limit_WHEN_read_by_the_line_reader_THEN_it_is_returned_whole) {
    TempDir dir;
    {
        std::ofstream out(dir / "edge.jsonl", std::ios::binary);
        out << std::string(kMaxTraceLineBytes, 'x') << "\n" << std::string(kMaxTraceLineBytes + 1, 'y');
    }
    auto reader = JsonlLineReader::open(dir / "edge.jsonl");
    ASSERT_TRUE(reader.ok());
    auto first = reader->next();
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE(first->has_value());
    EXPECT_EQ((*first)->size(), kMaxTraceLineBytes);
    auto second = reader->next();
    ASSERT_FALSE(second.ok());
    EXPECT_THAT(second.error().message, HasSubstr("line 2 is longer than 16 MiB"));
}

TEST(TraceOpen, GIVEN_missing_file_WHEN_opened_THEN_error_says_cannot_open) {
    TempDir dir;
    auto src = open_trace(dir / "nope.jsonl");
    ASSERT_FALSE(src.ok());
    EXPECT_EQ(src.error().message, (dir / "nope.jsonl").string() + ": cannot open: No such file or directory");
}

TEST(TraceOpen, GIVEN_a_pipe_WHEN_opened_THEN_it_is_streamed_as_jsonl_from_the_first_byte) {
    TempDir dir;
    const fs::path fifo = dir / "trace.fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const std::string text = sample_trace();
    const pid_t writer = ::fork();
    ASSERT_NE(writer, -1);
    if (writer == 0) {
        std::FILE* f = std::fopen(fifo.c_str(), "wb");
        if (f == nullptr) ::_exit(1);
        std::fwrite(text.data(), 1, text.size(), f);
        std::fclose(f);
        ::_exit(0);
    }
    auto src = open_trace(fifo);
    ASSERT_TRUE(src.ok()) << src.error().message;
    EXPECT_EQ((*src)->meta().scenario, "proactive-state");
    const Drained d = drain(**src);
    EXPECT_EQ(d.error, "");
    EXPECT_EQ(d.records.size(), 8u);
    int status = 0;
    ::waitpid(writer, &status, 0);
}

TEST(TraceOpen, GIVEN_binary_garbage_WHEN_opened_THEN_it_is_read_as_jsonl_and_fails_on_line_1) {
    TempDir dir;
    write_file(dir / "junk.bin", std::string("\x89PNG\r\n\x1a\n\0\0\0", 11));
    auto src = open_trace(dir / "junk.bin");
    ASSERT_TRUE(src.ok());
    EXPECT_THAT(drain(**src).error, StartsWith((dir / "junk.bin").string() + ": line 1: "));
}

// ───────────────────────────── SQLite: import / export / store ─────────────────────────────

TEST(TraceSqlite, GIVEN_well_formed_jsonl_WHEN_imported_and_exported_THEN_bytes_are_identical) {
    TempDir dir;
    const std::string original = sample_trace();
    write_file(dir / "in.jsonl", original);
    auto n = import_jsonl(dir / "in.jsonl", dir / "trace.db");
    ASSERT_TRUE(n.ok()) << n.error().message;
    EXPECT_EQ(*n, 9u);  // every line but the meta line, the unknown kind included
    auto m = export_jsonl(dir / "trace.db", dir / "out.jsonl");
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_EQ(*m, 9u);
    EXPECT_EQ(read_file(dir / "out.jsonl"), original);
    EXPECT_FALSE(fs::exists(dir / "out.jsonl.part"));
}

TEST(TraceSqlite, GIVEN_crlf_line_ends_and_a_byte_order_mark_WHEN_imported_and_exported_THEN_bytes_are_identical) {
    TempDir dir;
    std::string original = "\xEF\xBB\xBF";
    for (const char c : sample_trace()) {
        if (c == '\n') original.push_back('\r');
        original.push_back(c);
    }
    write_file(dir / "in.jsonl", original);
    auto src = open_trace(dir / "in.jsonl");
    ASSERT_TRUE(src.ok()) << src.error().message;
    EXPECT_EQ((*src)->meta().scenario, "proactive-state");
    EXPECT_EQ(drain(**src).records.size(), 8u);
    ASSERT_TRUE(import_jsonl(dir / "in.jsonl", dir / "trace.db").ok());
    ASSERT_TRUE(export_jsonl(dir / "trace.db", dir / "out.jsonl").ok());
    EXPECT_EQ(read_file(dir / "out.jsonl"), original);
}

TEST(TraceSqlite, GIVEN_imported_trace_WHEN_read_from_sqlite_THEN_same_records_meta_and_warnings_as_jsonl) {
    TempDir dir;
    write_file(dir / "in.jsonl", sample_trace());
    ASSERT_TRUE(import_jsonl(dir / "in.jsonl", dir / "trace.db").ok());
    auto from_jsonl = open_trace(dir / "in.jsonl");
    auto from_db = open_trace(dir / "trace.db");
    ASSERT_TRUE(from_jsonl.ok());
    ASSERT_TRUE(from_db.ok()) << from_db.error().message;
    EXPECT_EQ((*from_db)->meta(), (*from_jsonl)->meta());
    const Drained a = drain(**from_jsonl);
    const Drained b = drain(**from_db);
    EXPECT_EQ(b.error, "");
    ASSERT_EQ(a.records.size(), 8u);
    EXPECT_EQ(a.records, b.records);  // line numbers included: seq is the source line number
    ASSERT_EQ((*from_db)->warnings().size(), 1u);
    EXPECT_EQ((*from_db)->warnings()[0], (dir / "trace.db").string() + R"(: line 7: unknown kind "future-thing" skipped)");
}

TEST(TraceSqlite, GIVEN_every_kind_after_every_other_WHEN_read_into_one_reused_record_THEN_each_equals_its_line_parsed_alone) {
    // GIVEN the sample's record lines forwards and then backwards, so that each kind follows
    // kinds with other fields set (an egress's body before a link, a consent's categories
    // before a gap, a physical interaction without a recipient after an egress, …)
    std::vector<std::string> lines;
    std::istringstream in(sample_trace());
    for (std::string line; std::getline(in, line);) {
        if (line.find("\"kind\":\"meta\"") == std::string::npos && line.find("future-thing") == std::string::npos) {
            lines.push_back(line);
        }
    }
    lines.push_back(R"({"kind":"interaction","t":"2026-01-05T00:00:12.000Z","device":"lock-front","via":"physical"})");
    const std::vector<std::string> backwards(lines.rbegin(), lines.rend());
    lines.insert(lines.end(), backwards.begin(), backwards.end());
    std::string text;
    for (const auto& line : lines) text += line + "\n";
    TempDir dir;
    write_file(dir / "in.jsonl", text);
    ASSERT_TRUE(import_jsonl(dir / "in.jsonl", dir / "trace.db").ok());
    for (const char* file : {"in.jsonl", "trace.db"}) {
        auto src = open_trace(dir / file);
        ASSERT_TRUE(src.ok()) << src.error().message;
        // WHEN every record is read into the same Record
        Record reused;
        std::size_t n = 0;
        for (;; ++n) {
            auto more = (*src)->next(reused);
            ASSERT_TRUE(more.ok()) << file << ": " << more.error().message;
            if (!*more) break;
            // THEN it is what that line alone parses to: nothing is left from the record before
            ASSERT_LT(n, lines.size()) << file;
            EXPECT_EQ(reused, parse_ok(lines[n], n + 1)) << file << " line " << n + 1 << ": " << lines[n];
        }
        EXPECT_EQ(n, lines.size()) << file;
    }
}

TEST(TraceSqlite, GIVEN_sqlite_file_with_jsonl_name_WHEN_opened_THEN_content_decides) {
    TempDir dir;
    write_file(dir / "in.jsonl", sample_trace());
    ASSERT_TRUE(import_jsonl(dir / "in.jsonl", dir / "looks-like.jsonl.db").ok());
    fs::rename(dir / "looks-like.jsonl.db", dir / "really-sqlite.jsonl");
    auto src = open_trace(dir / "really-sqlite.jsonl");
    ASSERT_TRUE(src.ok()) << src.error().message;
    EXPECT_EQ(drain(**src).records.size(), 8u);
}

TEST(TraceSqlite, GIVEN_existing_non_empty_target_WHEN_importing_or_creating_THEN_refused_and_file_untouched) {
    TempDir dir;
    write_file(dir / "in.jsonl", sample_trace());
    write_file(dir / "taken.db", "precious");
    auto n = import_jsonl(dir / "in.jsonl", dir / "taken.db");
    ASSERT_FALSE(n.ok());
    EXPECT_THAT(n.error().message, HasSubstr("refusing to overwrite"));
    auto s = TraceStore::create(dir / "taken.db");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(read_file(dir / "taken.db"), "precious");
    // An existing empty file is fine (mktemp).
    write_file(dir / "empty.db", "");
    EXPECT_TRUE(import_jsonl(dir / "in.jsonl", dir / "empty.db").ok());
}

TEST(TraceSqlite, GIVEN_malformed_jsonl_WHEN_imported_THEN_error_names_the_line_and_no_database_is_left) {
    TempDir dir;
    std::string body = sample_trace();
    body += R"({"kind":"egress","t":"2026-01-05T00:00:12.000Z","device":"d","format":"json","body":{}})" "\n";
    write_file(dir / "in.jsonl", body);
    auto n = import_jsonl(dir / "in.jsonl", dir / "trace.db");
    ASSERT_FALSE(n.ok());
    EXPECT_EQ(n.error().message, (dir / "in.jsonl").string() + R"(: line 11: egress: missing "to")");
    EXPECT_FALSE(fs::exists(dir / "trace.db"));
}

TEST(TraceSqlite, GIVEN_store_with_meta_and_records_WHEN_read_back_THEN_lines_are_numbered_as_in_the_export) {
    TempDir dir;
    {
        auto store = TraceStore::create(dir / "cap.db");
        ASSERT_TRUE(store.ok()) << store.error().message;
        ASSERT_TRUE(store->write_meta(TraceMeta{.scenario = "s", .source = "bench", .start = kT0}).ok());
        for (int i = 0; i < 5; ++i) {
            Record r{.kind = RecordKind::truth, .t = kT0 + i, .device = "d", .payload = R"({"battery":)" + std::to_string(i) + "}"};
            ASSERT_TRUE(store->append(r).ok());
        }
        const std::string verbatim = R"({"kind":"truth","t":"2026-01-05T03:12:09.120Z", "device":"d","state":{"battery":9}})";
        ASSERT_TRUE(store->append(Record{.kind = RecordKind::truth, .t = kT0, .device = "d"}, verbatim).ok());
        ASSERT_TRUE(store->create_index().ok());
    }  // destructor commits
    auto src = open_trace(dir / "cap.db");
    ASSERT_TRUE(src.ok()) << src.error().message;
    EXPECT_EQ((*src)->meta().source, "bench");
    EXPECT_EQ((*src)->meta().start, kT0);
    const Drained d = drain(**src);
    EXPECT_EQ(d.error, "");
    ASSERT_EQ(d.records.size(), 6u);
    EXPECT_EQ(d.records[0].line, 2u);
    EXPECT_EQ(d.records[4].payload, R"({"battery":4})");
    EXPECT_EQ(d.records[5].payload, R"({"battery":9})");
    ASSERT_TRUE(export_jsonl(dir / "cap.db", dir / "cap.jsonl").ok());
    const std::string text = read_file(dir / "cap.jsonl");
    EXPECT_THAT(text, StartsWith(R"({"kind":"meta","version":1,"scenario":"s","source":"bench")"));
    const std::string verbatim_line = "\n{\"kind\":\"truth\",\"t\":\"2026-01-05T03:12:09.120Z\", \"device\":\"d\",\"state\":{\"battery\":9}}\n";
    EXPECT_THAT(text, HasSubstr(verbatim_line));
}

TEST(TraceSqlite, GIVEN_batches_committed_one_by_one_WHEN_the_size_is_asked_THEN_it_grows_and_is_the_closed_files_size) {
    TempDir dir;
    std::uint64_t last = 0;
    {
        // GIVEN a store with small batches (as a bench run's), written a batch at a time
        auto store = TraceStore::create(dir / "grow.db");
        ASSERT_TRUE(store.ok()) << store.error().message;
        store->set_batch(4);
        const std::uint64_t empty = store->committed_bytes();
        EXPECT_GT(empty, 0u);  // the schema's pages
        EXPECT_EQ(store->wal_limit_bytes(), 1000u * 4096u);  // SQLite's defaults: 1,000 pages of 4 KiB
        ASSERT_TRUE(store->write_meta(TraceMeta{.scenario = "s", .source = "bench", .start = kT0}).ok());
        const std::string state(600, 'x');
        for (int i = 0; i < 400; ++i) {
            Record r{.kind = RecordKind::truth, .t = kT0 + i, .device = "d", .payload = R"({"note":")" + state + "\"}"};
            ASSERT_TRUE(store->append(r).ok());
        }
        ASSERT_TRUE(store->commit().ok());
        // WHEN asked after the last commit THEN 400 records of ~650 bytes made it grow by at
        // least their size, while the files on disk (the trace and its write-ahead log) say
        // something else
        last = store->committed_bytes();
        EXPECT_GE(last - empty, 400u * 600u);
        std::error_code ec;
        const auto on_disk = fs::file_size(dir / "grow.db", ec) + fs::file_size(dir / "grow.db-wal", ec);
        EXPECT_NE(on_disk, last);
    }  // closing folds the write-ahead log into the file
    // and once closed, the file measures exactly the last size given
    EXPECT_EQ(fs::file_size(dir / "grow.db"), last);
    EXPECT_FALSE(fs::exists(dir / "grow.db-wal"));
}

TEST(TraceSqlite, GIVEN_a_database_truncated_to_half_WHEN_read_THEN_some_records_then_a_malformed_error_and_no_crash) {
    TempDir dir;
    constexpr int kRecords = 5000;
    {
        auto store = TraceStore::create(dir / "full.db");
        ASSERT_TRUE(store.ok());
        ASSERT_TRUE(store->write_meta(TraceMeta{.scenario = "s"}).ok());
        for (int i = 0; i < kRecords; ++i) {
            Record r{.kind = RecordKind::egress, .t = kT0 + i, .device = "thermo-" + std::to_string(i % 50),
                     .recipient = "voice-partner", .format = "json",
                     .payload = R"({"temperature":)" + std::to_string(20 + i % 7) + R"(,"pad":"0123456789012345678901234567890123456789"})"};
            ASSERT_TRUE(store->append(r).ok());
        }
    }
    ASSERT_FALSE(fs::exists(dir / "full.db-wal")) << "closing should checkpoint the WAL into the file";
    fs::copy_file(dir / "full.db", dir / "trace.db");
    const auto size = fs::file_size(dir / "trace.db");
    fs::resize_file(dir / "trace.db", size / 2);

    auto src = open_trace(dir / "trace.db");
    ASSERT_TRUE(src.ok()) << src.error().message;
    const Drained d = drain(**src);
    EXPECT_GT(d.records.size(), 0u);
    EXPECT_LT(d.records.size(), static_cast<std::size_t>(kRecords));
    EXPECT_EQ(d.error, (dir / "trace.db").string() + ": database disk image is malformed — the file may be truncated");
    ASSERT_EQ((*src)->warnings().size(), 1u);
    EXPECT_THAT((*src)->warnings()[0], HasSubstr("shorter than its header says"));
    for (std::size_t i = 0; i < d.records.size(); ++i) ASSERT_EQ(d.records[i].t, kT0 + static_cast<TimeMs>(i));

    auto exported = export_jsonl(dir / "trace.db", dir / "out.jsonl");
    ASSERT_FALSE(exported.ok());
    EXPECT_THAT(exported.error().message, HasSubstr("malformed"));
    EXPECT_FALSE(fs::exists(dir / "out.jsonl"));

    // Cut inside the header page: still an error, still no crash.
    fs::copy_file(dir / "full.db", dir / "stub.db");
    fs::resize_file(dir / "stub.db", 100);
    auto stub = open_trace(dir / "stub.db");
    ASSERT_FALSE(stub.ok());
    EXPECT_EQ(stub.error().message, (dir / "stub.db").string() + ": database disk image is malformed — the file may be truncated");
}

// GIVEN a store whose files cannot grow past 1 MiB (a full disk, as RLIMIT_FSIZE makes it)
// WHEN records keep coming, committed every 500
// THEN append or commit fails naming the database, and once there is room again the trace
//      holds every committed record and then only records in order, without a gap
TEST(TraceSqlite, GIVEN_a_full_disk_WHEN_records_keep_coming_THEN_an_error_names_the_file_and_committed_records_stay) {
    TempDir dir;
    const fs::path db = dir / "full.db";
    constexpr int kCommitEvery = 500;
    Status failed;
    int committed = 0;
    int appended = 0;
    {
        auto store = TraceStore::create(db);
        ASSERT_TRUE(store.ok()) << store.error().message;
        const consentrig::testing::FileSizeLimit full_disk(1024 * 1024);
        ASSERT_TRUE(full_disk.ok());
        for (; appended < 100000 && failed.ok(); ++appended) {
            Record r{.kind = RecordKind::truth, .t = kT0 + appended, .device = "thermo-" + std::to_string(appended % 7),
                     .payload = R"({"temperature":)" + std::to_string(appended) + R"(,"pad":"0123456789012345678901234567890123456789"})"};
            failed = store->append(r);
            if (failed.ok() && (appended + 1) % kCommitEvery == 0) {
                failed = store->commit();
                if (failed.ok()) committed = appended + 1;
            }
        }
    }  // the limit goes before the store: it closes with room again
    ASSERT_FALSE(failed.ok()) << "100000 records fitted in 1 MiB";
    // SQLite says "disk I/O error"; the error adds what the OS said
    EXPECT_EQ(failed.error().message, db.string() + ": disk I/O error (" + std::strerror(EFBIG) + ")");
    EXPECT_GT(committed, 0);

    auto src = open_trace(db);
    ASSERT_TRUE(src.ok()) << src.error().message;
    const Drained d = drain(**src);
    EXPECT_EQ(d.error, "");
    EXPECT_GE(d.records.size(), static_cast<std::size_t>(committed));
    EXPECT_LT(d.records.size(), static_cast<std::size_t>(appended));
    for (std::size_t i = 0; i < d.records.size(); ++i) ASSERT_EQ(d.records[i].t, kT0 + static_cast<TimeMs>(i)) << "record " << i;
}

namespace {
Record killed_record(int i) {
    return Record{.kind = RecordKind::truth, .t = kT0 + i, .device = "lock-front",
                  .payload = R"({"seq":)" + std::to_string(i) + "}"};
}

/// Ends the calling process with SIGKILL where it stands: no destructor runs, nothing is flushed.
[[noreturn]] void die_now() {
    ::raise(SIGKILL);
    ::_exit(99);
}

/// Runs `capture` in a forked child that ends itself with die_now() mid-capture (inside its
/// own scope, so that its store is never destroyed); if it returns, the value is the exit code
/// saying what failed (no gtest assertions in the child).
void run_and_kill(const std::function<int()>& capture) {
    std::cout.flush();
    std::cerr.flush();
    const pid_t child = ::fork();
    ASSERT_NE(child, -1);
    if (child == 0) ::_exit(capture());

    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
    ASSERT_EQ(WTERMSIG(status), SIGKILL);
}
}  // namespace

TEST(TraceSqlite, GIVEN_capture_killed_with_SIGKILL_WHEN_reopened_THEN_every_committed_record_is_there) {
    TempDir dir;
    const fs::path db = dir / "killed.db";
    run_and_kill([&] {
        auto store = TraceStore::create(db);
        if (!store.ok()) return 10;
        store->set_batch(10);
        for (int i = 0; i < 35; ++i) {
            if (!store->append(killed_record(i)).ok()) return 11;
            if (i == 29 && !store->commit().ok()) return 12;
        }
        die_now();
    });
    if (HasFatalFailure()) return;

    auto src = open_trace(db);
    ASSERT_TRUE(src.ok()) << src.error().message;
    const Drained d = drain(**src);
    EXPECT_EQ(d.error, "");
    ASSERT_GE(d.records.size(), 30u);
    ASSERT_EQ(d.records.size(), 30u) << "the last 5 records were never committed";
    for (int i = 0; i < 30; ++i) {
        Record expected = killed_record(i);
        expected.line = static_cast<std::uint64_t>(i + 1);
        EXPECT_EQ(d.records[static_cast<std::size_t>(i)], expected);
    }
}

// ───────────────────────────── capture journal ─────────────────────────────

namespace {
TraceMeta journal_meta() {
    TraceMeta m;
    m.scenario = "consentrig-gui";
    m.source = "bench";
    m.start = kT0;
    return m;
}
}  // namespace

TEST(TraceJournal, GIVEN_a_capture_killed_between_commits_WHEN_its_journal_is_recovered_THEN_every_record_handed_over_is_there) {
    // GIVEN a process that writes 35 records to a store (committing after 30) and to a journal
    TempDir dir;
    const fs::path db = dir / "trace.db";
    const fs::path journal = dir / "trace.journal.jsonl";
    // WHEN it is killed before its next commit
    run_and_kill([&] {
        auto store = TraceStore::create(db);
        auto j = TraceJournal::create(journal, journal_meta());
        if (!store.ok() || !j.ok()) return 10;
        store->set_batch(10);
        for (int i = 0; i < 35; ++i) {
            if (!j->append(killed_record(i)).ok()) return 11;
            if (!store->append(killed_record(i)).ok()) return 12;
            if (i == 29 && !store->commit().ok()) return 13;
        }
        die_now();
    });
    if (HasFatalFailure()) return;

    // THEN the store has the 30 committed records and the recovered journal all 35, in order
    auto committed = open_trace(db);
    ASSERT_TRUE(committed.ok()) << committed.error().message;
    EXPECT_EQ(drain(**committed).records.size(), 30u);
    const fs::path recovered = dir / "trace-recovered.db";
    auto r = recover_journal(journal, recovered);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->records, 35u);
    EXPECT_FALSE(r->dropped_partial_line);
    auto src = open_trace(recovered);
    ASSERT_TRUE(src.ok()) << src.error().message;
    EXPECT_EQ((*src)->meta(), journal_meta());
    const Drained d = drain(**src);
    EXPECT_EQ(d.error, "");
    ASSERT_EQ(d.records.size(), 35u);
    for (int i = 0; i < 35; ++i) {
        Record expected = killed_record(i);
        expected.line = static_cast<std::uint64_t>(i + 2);  // the journal's line: its meta is line 1
        EXPECT_EQ(d.records[static_cast<std::size_t>(i)], expected);
    }
}

TEST(TraceJournal, GIVEN_a_journal_whose_last_write_was_cut_short_WHEN_recovered_THEN_the_partial_line_is_dropped_and_said) {
    // GIVEN a journal of three records and half a fourth line
    TempDir dir;
    const fs::path journal = dir / "trace.journal.jsonl";
    {
        auto j = TraceJournal::create(journal, journal_meta());
        ASSERT_TRUE(j.ok()) << j.error().message;
        for (int i = 0; i < 3; ++i) ASSERT_TRUE(j->append(killed_record(i)).ok());
    }
    const std::string half = to_jsonl(killed_record(3)).substr(0, 20);
    std::ofstream(journal, std::ios::app) << half;
    // WHEN it is recovered
    auto r = recover_journal(journal, dir / "out.db");
    // THEN the three whole records are kept and the cut line is reported, not an error
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->records, 3u);
    EXPECT_TRUE(r->dropped_partial_line);
}

TEST(TraceJournal, GIVEN_a_journal_with_a_corrupt_line_inside_WHEN_recovered_THEN_the_error_names_the_line_and_no_trace_is_left) {
    // GIVEN a journal whose second record line is not JSON
    TempDir dir;
    const fs::path journal = dir / "trace.journal.jsonl";
    {
        auto j = TraceJournal::create(journal, journal_meta());
        ASSERT_TRUE(j.ok()) << j.error().message;
        ASSERT_TRUE(j->append(killed_record(0)).ok());
    }
    std::ofstream(journal, std::ios::app) << "{\"kind\":\"truth\",\"t\":\n" << to_jsonl(killed_record(2)) << "\n";
    // WHEN it is recovered
    const fs::path db = dir / "out.db";
    auto r = recover_journal(journal, db);
    // THEN the error names the file and line 3, and no half-made trace is left behind
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.error().message, HasSubstr("trace.journal.jsonl"));
    EXPECT_THAT(r.error().message, HasSubstr("line 3"));
    EXPECT_FALSE(fs::exists(db));
}

TEST(TraceJournal, GIVEN_a_session_that_ends_cleanly_WHEN_the_journal_is_discarded_THEN_the_file_is_gone) {
    TempDir dir;
    const fs::path journal = dir / "trace.journal.jsonl";
    auto j = TraceJournal::create(journal, journal_meta());
    ASSERT_TRUE(j.ok()) << j.error().message;
    ASSERT_TRUE(j->append(killed_record(0)).ok());
    ASSERT_TRUE(fs::exists(journal));
    j->discard();
    EXPECT_FALSE(fs::exists(journal));
    EXPECT_FALSE(j->append(killed_record(1)).ok());  // closed: said, not a crash
}

// ───────────────────────────── throughput (run by hand) ─────────────────────────────
// build/…/test_core_trace --gtest_also_run_disabled_tests --gtest_filter='*Throughput*'

TEST(TraceThroughput, DISABLED_GIVEN_a_million_250_byte_lines_WHEN_imported_and_read_THEN_rates_are_printed) {
    TempDir dir;
    constexpr int kLines = 1'000'000;
    {
        std::ofstream out(dir / "big.jsonl", std::ios::binary);
        out << kMeta << "\n";
        for (int i = 0; i < kLines; ++i) {
            Record r{.kind = RecordKind::egress, .t = kT0 + i * 10, .device = "thermo-" + std::to_string(i % 1000),
                     .recipient = "voice-partner", .format = "google",
                     .payload = R"({"requestId":")" + std::to_string(i) +
                                R"(","payload":{"devices":{"states":{"thermo-1":{"thermostatTemperatureAmbient":20.5,"thermostatMode":"heat"}}}}})"};
            out << to_jsonl(r) << "\n";
        }
    }
    const double bytes = static_cast<double>(fs::file_size(dir / "big.jsonl"));
    // Wall time and this process's CPU time: on a busy machine the CPU figure is the stable one.
    struct Clock {
        std::chrono::steady_clock::time_point wall = std::chrono::steady_clock::now();
        std::clock_t cpu = std::clock();
        [[nodiscard]] std::string rates(double n) const {
            const double w = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
            const double c = static_cast<double>(std::clock() - cpu) / CLOCKS_PER_SEC;
            return std::to_string(static_cast<long>(n / w)) + "/s wall, " + std::to_string(static_cast<long>(n / c)) +
                   "/s CPU";
        }
    };
    // Opens `file` and reads every record: as check and the report model read (one Record
    // refilled), or a fresh Record per call. The rate, or "" when the count is wrong.
    auto timed_read = [&](const char* file, bool refill) {
        Clock clock;
        auto src = open_trace(dir / file);
        std::size_t count = 0;
        if (src && refill) {
            Record r;
            for (auto more = (*src)->next(r); more.ok() && *more; more = (*src)->next(r)) ++count;
        } else if (src) {
            for (auto r = (*src)->next(); r.ok() && *r; r = (*src)->next()) ++count;
        }
        EXPECT_EQ(count, static_cast<std::size_t>(kLines)) << file;
        return count == static_cast<std::size_t>(kLines) ? clock.rates(static_cast<double>(count)) : std::string{};
    };

    Clock c1;
    auto n = import_jsonl(dir / "big.jsonl", dir / "big.db");
    ASSERT_TRUE(n.ok()) << n.error().message;
    const std::string import_rate = c1.rates(static_cast<double>(*n));
    const std::string jsonl_rate = timed_read("big.jsonl", true);
    const std::string db_rate = timed_read("big.db", true);
    const std::string by_value_rate = timed_read("big.db", false);

    Clock c4;
    ASSERT_TRUE(export_jsonl(dir / "big.db", dir / "back.jsonl").ok());
    const std::string export_rate = c4.rates(kLines);
    std::cout << "[          ] average line " << bytes / (kLines + 1) << " bytes\n"
              << "[          ] import      " << import_rate << " rows\n"
              << "[          ] JSONL read  " << jsonl_rate << " records\n"
              << "[          ] SQLite read " << db_rate << " records\n"
              << "[          ]   by value  " << by_value_rate << " records (a fresh Record per call)\n"
              << "[          ] export      " << export_rate << " rows\n";
}
