// End to end: a thermostat and a lock run one simulated day under each behaviour profile; their
// uplinks, TRUTH frames and the scenario's interactions / consent / link events are written as
// a PROTOCOL §2 trace and judged by the real `consentrig check`. The compliant firmware must come
// out clean, and every leaky profile must produce the leak class it exists for.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

extern "C" {
#include "fw/fw.h"
}

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::uint64_t kEpoch = 1767571200000ULL;  // Monday 2026-01-05T00:00:00Z
constexpr std::uint64_t kMin = 60000, kHour = 60 * kMin;

const char* const kPolicy = R"(timezone: UTC
consent:
  - recipient: voice-partner
    categories: [temperature, setpoint, hvac_mode, lock_state]
    basis: interaction
    within: 120s
  - recipient: vendor-cloud
    categories: [all]
    basis: schedule
    windows: ["08:00-20:00"]
  - recipient: google-partner
    categories: [all]
    basis: interaction
    within: 60s
  - recipient: matter-ctrl
    categories: [all]
    basis: interaction
    within: 60s
)";

std::string rfc3339(std::uint64_t t) {
    char b[40];
    fw_format_rfc3339(kEpoch + t, b, sizeof b);
    return b;
}

struct Dev {
    std::ofstream* out;
    std::string id;
    fw_config cfg;
    fw_device_storage fw;
    fw_saf_ring saf;  ///< the store_and_forward buffer this host keeps for the device
};

void on_uplink(void* c, const fw_device*, std::uint64_t t, const char* to, const char* f,
               const char* body, std::size_t len) {
    auto* d = static_cast<Dev*>(c);
    *d->out << json({{"kind", "egress"}, {"t", rfc3339(t)}, {"device", d->id}, {"to", to},
                     {"format", f}, {"body", json::parse(std::string(body, len))}})
                   .dump()
            << "\n";
}
void on_truth(void* c, const fw_device*, std::uint64_t t, const char* s, std::size_t len) {
    auto* d = static_cast<Dev*>(c);
    *d->out << json({{"kind", "truth"}, {"t", rfc3339(t)}, {"device", d->id},
                     {"state", json::parse(std::string(s, len))}})
                   .dump()
            << "\n";
}
fw_saf_ring* on_saf_ring(void* c, const fw_device*) { return &static_cast<Dev*>(c)->saf; }
std::size_t on_id(void* c, const fw_device*, char* buf, std::size_t cap) {
    auto* d = static_cast<Dev*>(c);
    const std::size_t n = std::min(cap, d->id.size());
    d->id.copy(buf, n);
    return n;
}

struct Event {
    std::uint64_t t;
    int dev;
    std::string cmd;
};

/// Writes the trace of one day under `profile` to `path`.
void run_day(const std::string& profile, const fs::path& path) {
    std::ofstream out(path);
    out << json({{"kind", "meta"}, {"version", 1}, {"scenario", profile}, {"source", "sim"},
                 {"start", rfc3339(0)}, {"timezone", "UTC"}})
               .dump()
        << "\n";
    Dev d[2] = {{&out, "thermo-1", {}, {}, {}}, {&out, "lock-front", {}, {}, {}}};
    const std::uint16_t voice = FW_CAT_BIT(FW_CAT_TEMPERATURE) | FW_CAT_BIT(FW_CAT_SETPOINT) |
                                FW_CAT_BIT(FW_CAT_HVAC_MODE) | FW_CAT_BIT(FW_CAT_LOCK_STATE);
    for (int k = 0; k < 2; ++k) {
        fw_config& c = d[k].cfg;
        fw_config_defaults(&c, k == 0 ? FW_KIND_THERMOSTAT : FW_KIND_LOCK);
        c.hal = {&d[k], &on_uplink, &on_truth, nullptr, nullptr, &on_id, &on_saf_ring};
        c.recipient_count = 4;
        c.boot_epoch_ms = kEpoch;
        c.recipients[0] = {"voice-partner", FW_FMT_ALEXA, 120000, voice, 0, true, false, nullptr};
        c.recipients[1] = {"vendor-cloud", FW_FMT_JSON, 0, 0, 0, true, true, nullptr};
        c.recipients[2] = {"google-partner", FW_FMT_GOOGLE, 60000, FW_CATS_ALL, 0, true, false, "u1"};
        c.recipients[3] = {"matter-ctrl", FW_FMT_MATTER, 60000, FW_CATS_ALL, 0, true, false, nullptr};
        const int p = fw_profile_from_name(profile.data(), profile.size());
        ASSERT_GE(p, 0);
        c.profile_at_boot = static_cast<fw_profile>(p);
        ASSERT_EQ(fw_init(fw_device_in(&d[k].fw), &c, static_cast<std::uint32_t>(k), 7, 0), nullptr);
    }
    std::vector<Event> events = {
        {6 * kHour, 0, R"({"id":1,"op":"network","up":false})"},
        {8 * kHour + 2 * kMin, 0, R"({"id":2,"op":"network","up":true})"},
        {9 * kHour, 0, R"({"id":3,"op":"interact","via":"voice","recipient":"voice-partner","action":"set_setpoint","value":22})"},
        {9 * kHour + 30 * kMin, 1, R"({"id":4,"op":"interact","via":"app","recipient":"google-partner","action":"unlock"})"},
        {13 * kHour, 1, R"({"id":5,"op":"network","up":false})"},
        {15 * kHour, 0, R"({"id":6,"op":"consent","recipient":"vendor-cloud","categories":["occupancy"],"granted":false})"},
        {16 * kHour, 1, R"({"id":7,"op":"link","recipient":"vendor-cloud","linked":false})"},
        {21 * kHour, 1, R"({"id":8,"op":"network","up":true})"},
        {22 * kHour, 0, R"({"id":9,"op":"interact","via":"voice","recipient":"voice-partner","action":"query"})"},
    };
    auto run_to = [&](std::uint64_t t) {  // every device timer before t, in time order
        for (;;) {
            const std::uint64_t w0 = fw_next_wakeup(fw_device_in(&d[0].fw)), w1 = fw_next_wakeup(fw_device_in(&d[1].fw));
            const std::uint64_t w = std::min(w0, w1);
            if (w >= t) break;
            fw_on_timer(fw_device_in(&d[w0 <= w1 ? 0 : 1].fw), w);
        }
    };
    std::size_t next = 0;
    for (std::uint64_t t = 0; t <= 24 * kHour; t += 5 * kMin) {
        while (next < events.size() && events[next].t <= t) {
            const Event& e = events[next++];
            run_to(e.t);
            const json c = json::parse(e.cmd);
            const std::string dev = d[e.dev].id;
            if (c["op"] == "interact")
                out << json({{"kind", "interaction"}, {"t", rfc3339(e.t)}, {"device", dev},
                             {"via", c["via"]}, {"recipient", c["recipient"]}, {"action", c["action"]}})
                           .dump()
                    << "\n";
            if (c["op"] == "consent")
                out << json({{"kind", "consent"}, {"t", rfc3339(e.t)}, {"device", dev},
                             {"recipient", c["recipient"]}, {"categories", c["categories"]},
                             {"granted", c["granted"]}})
                           .dump()
                    << "\n";
            if (c["op"] == "link")
                out << json({{"kind", "link"}, {"t", rfc3339(e.t)}, {"device", dev},
                             {"recipient", c["recipient"]}, {"linked", c["linked"]}})
                           .dump()
                    << "\n";
            fw_command cmd;
            ASSERT_EQ(fw_parse_command(e.cmd.data(), e.cmd.size(), &cmd), nullptr);
            ASSERT_EQ(fw_on_command(fw_device_in(&d[e.dev].fw), e.t, &cmd), nullptr) << e.cmd;
        }
        run_to(t);
        const bool open = t >= 8 * kHour && t < 20 * kHour;  // the vendor's schedule window
        for (auto& x : d) fw_set_basis_allowed(fw_device_in(&x.fw), t, 1, open ? FW_CATS_ALL : 0);
        fw_on_sensor(fw_device_in(&d[0].fw), t, FW_SENSOR_TEMPERATURE,
                     1880 + static_cast<std::int32_t>((t / (5 * kMin)) % 7) * 40);
        if (t % (3 * kHour) == 2 * kHour)
            fw_on_sensor(fw_device_in(&d[0].fw), t, FW_SENSOR_OCCUPANCY, static_cast<std::int32_t>((t / (3 * kHour)) % 2));
        if (t % (30 * kMin) == 0) fw_on_sensor(fw_device_in(&d[1].fw), t, FW_SENSOR_DOOR, 0);
        if (t % (30 * kMin) == 10 * kMin) fw_on_sensor(fw_device_in(&d[1].fw), t, FW_SENSOR_DOOR, 1);
    }
}

struct Verdict {
    int exit_code;
    std::map<std::string, int> summary;
};

Verdict judge(const std::string& profile) {
    const fs::path dir = fs::temp_directory_path() /
                         ("consentrig-fw-e2e-" + std::to_string(::getpid()) + "-" + profile);
    fs::create_directories(dir);
    std::ofstream(dir / "policy.yaml") << kPolicy;
    run_day(profile, dir / "trace.jsonl");
    const std::string cmd = std::string(CONSENTRIG_BINARY_DIR) + "/bin/consentrig check " +
                            (dir / "policy.yaml").string() + " " + (dir / "trace.jsonl").string() +
                            " --json " + (dir / "out.json").string() + " > " +
                            (dir / "stdout.txt").string() + " 2> " + (dir / "stderr.txt").string();
    const int status = std::system(cmd.c_str());
    Verdict v{WIFEXITED(status) ? WEXITSTATUS(status) : -1, {}};
    std::ifstream in(dir / "out.json");
    if (in) {
        const json out = json::parse(in, nullptr, false);
        if (!out.is_discarded() && out.contains("summary"))
            for (const auto& [k, n] : out["summary"].items())
                if (k != "total" && n.is_number_integer() && n.get<int>() > 0) v.summary[k] = n.get<int>();
    }
    if (v.exit_code == 2) {
        std::ifstream err(dir / "stderr.txt");
        ADD_FAILURE() << profile << ": consentrig check failed: " << std::string(std::istreambuf_iterator<char>(err), {});
    }
    fs::remove_all(dir);
    return v;
}

using Classes = std::map<std::string, int>;

std::vector<std::string> keys(const Classes& m) {
    std::vector<std::string> out;
    for (const auto& [k, n] : m) out.push_back(k);
    return out;
}

}  // namespace

TEST(FwOracleE2E, GivenADayOfUseWhenTheCompliantFirmwareIsJudgedThenTheOracleFindsNothing) {
    const Verdict v = judge("compliant");
    EXPECT_EQ(v.exit_code, 0);
    EXPECT_TRUE(v.summary.empty()) << ::testing::PrintToString(v.summary);
}

TEST(FwOracleE2E, GivenTheSameDayWhenEachLeakyProfileIsJudgedThenItsOwnLeakClassIsFound) {
    const std::map<std::string, std::vector<std::string>> exactly = {
        {"flush_after_revoke", {"after_revocation"}},
        {"store_and_forward", {"stale_sample"}},
        {"keepalive_leak", {"side_channel"}},
    };
    for (const auto& [profile, want] : exactly) {
        const Verdict v = judge(profile);
        EXPECT_EQ(v.exit_code, 1) << profile;
        EXPECT_EQ(keys(v.summary), want) << profile << ": " << ::testing::PrintToString(v.summary);
    }
    const std::map<std::string, std::vector<std::string>> at_least = {
        {"proactive", {"out_of_window", "outside_scope", "after_revocation"}},
        {"scope_creep", {"outside_scope"}},
        {"cause_lie", {"cause_mismatch", "out_of_window"}},
    };
    for (const auto& [profile, want] : at_least) {
        const Verdict v = judge(profile);
        EXPECT_EQ(v.exit_code, 1) << profile;
        for (const auto& cls : want) EXPECT_GT(v.summary.count(cls), 0u) << profile << " lacks " << cls;
        if (profile != "cause_lie") {
            EXPECT_EQ(v.summary.count("cause_mismatch"), 0u) << profile;
        }
    }
}
