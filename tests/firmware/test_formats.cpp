// Uplink bodies in the four partner formats of PROTOCOL.md §2, RFC 3339 sample times, escaping
// of hostile device ids, body size limits, determinism.
#include "fw_harness.hpp"

#include <date/date.h>

#include <array>
#include <chrono>
#include <random>
#include <regex>
#include <set>

extern "C" {
#include "fw_internal.h"  // the body builders themselves, for the buffer-size test
}

using namespace fwtest;
using nlohmann::json;

namespace {

const std::regex kUuid("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");

json prop(const char* ns, const char* name, json value, const std::string& t) {
    return {{"namespace", ns}, {"name", name}, {"value", std::move(value)},
            {"timeOfSample", t}, {"uncertaintyInMilliseconds", 0}};
}

/// A thermostat with a known state; the clock set so that t = 120 ms reads
/// 2026-01-05T03:12:09.120Z.
void thermostat_scene(Harness& h) {
    h.boot();
    h.command(R"({"id":1,"op":"set_clock","epoch_ms":1767582729000})");
    h.sensor(FW_SENSOR_TEMPERATURE, 2150);
    h.sensor(FW_SENSOR_HUMIDITY, 45);
    h.run_until(120);
}

}  // namespace

TEST(FwFormats, GivenKnownInstantsWhenFormattedThenRfc3339UtcWithMillisecondsIsExact) {
    const std::pair<std::uint64_t, const char*> cases[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {1767582729120ULL, "2026-01-05T03:12:09.120Z"},
        {1709251199999ULL, "2024-02-29T23:59:59.999Z"},
        {951868800000ULL, "2000-03-01T00:00:00.000Z"},
        {4107587696789ULL, "2100-03-01T12:34:56.789Z"},
        {946684799000ULL, "1999-12-31T23:59:59.000Z"},
        // beyond RFC 3339's four-digit years (values of the 64-bit implementation before the
        // 32-bit path), on both sides of where the arithmetic leaves 32 bits
        {253402300800000ULL, "10000-01-01T00:00:00.000Z"},
        {371023012252812345ULL, "11759221-03-20T00:00:12.345Z"},
        {371023012339212345ULL, "11759221-03-21T00:00:12.345Z"},
        {18446744073709551615ULL, "584556019-04-03T14:25:51.615Z"},
    };
    for (const auto& [ms, want] : cases) {
        char buf[32];
        const std::size_t n = fw_format_rfc3339(ms, buf, sizeof buf);
        EXPECT_EQ(std::string(buf, n), want) << ms;
    }
    char small[8];
    EXPECT_EQ(fw_format_rfc3339(0, small, sizeof small), 7u);
    EXPECT_STREQ(small, "1970-01");
}

TEST(FwFormats, GivenInstantsUpToTheYear9999WhenFormattedThenTheyMatchTheDateLibrary) {
    // GIVEN 30,000 instants: anywhere, a day's first millisecond and a day's last
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<std::uint64_t> pick(0, 253402300799999ULL);  // … 9999-12-31T23:59:59.999Z
    constexpr std::uint64_t kMsPerDay = 86400000;
    for (int k = 0; k < 30000; ++k) {
        std::uint64_t ms = pick(rng);
        if (k % 3 == 1) ms = ms / kMsPerDay * kMsPerDay;
        if (k % 3 == 2) ms = ms / kMsPerDay * kMsPerDay + kMsPerDay - 1;
        // WHEN the firmware formats it THEN it reads as Howard Hinnant's date library writes it
        char buf[48];
        const std::size_t n = fw_format_rfc3339(ms, buf, sizeof buf);
        const date::sys_time<std::chrono::milliseconds> t{std::chrono::milliseconds{ms}};
        ASSERT_EQ(std::string(buf, n), date::format("%FT%TZ", t)) << ms;
    }
}

TEST(FwFormats, GivenVoiceSetpointWhenReportedToAlexaThenChangeReportHasTheExactProtocolShape) {
    Harness h(FW_KIND_THERMOSTAT);
    thermostat_scene(h);
    h.command(R"({"id":2,"op":"interact","via":"voice","recipient":"voice-partner","action":"set_setpoint","value":22.5})");
    const auto v = h.to("voice-partner");
    ASSERT_EQ(v.size(), 1u);
    ASSERT_TRUE(v[0].parsed) << v[0].body;
    EXPECT_EQ(v[0].format, "alexa");
    const json& j = v[0].json;
    const json& header = j.at("event").at("header");
    EXPECT_EQ(header.size(), 4u);
    EXPECT_EQ(header.at("namespace"), "Alexa");
    EXPECT_EQ(header.at("name"), "ChangeReport");
    EXPECT_EQ(header.at("payloadVersion"), "3");
    EXPECT_TRUE(std::regex_match(header.at("messageId").get<std::string>(), kUuid));
    EXPECT_EQ(j.at("event").at("endpoint"), json({{"endpointId", "thermo-1"}}));
    const std::string t = "2026-01-05T03:12:09.120Z";
    EXPECT_EQ(j.at("event").at("payload"),
              json({{"change",
                     {{"cause", {{"type", "VOICE_INTERACTION"}}},
                      {"properties",
                       json::array({prop("Alexa.ThermostatController", "targetSetpoint",
                                         {{"value", 22.5}, {"scale", "CELSIUS"}}, t)})}}}}));
    EXPECT_EQ(j.at("context"),
              json({{"properties",
                     json::array({prop("Alexa.TemperatureSensor", "temperature",
                                       {{"value", 21.5}, {"scale", "CELSIUS"}}, t),
                                  prop("Alexa.ThermostatController", "thermostatMode", "HEAT",
                                       t)})}}));
}

TEST(FwFormats, GivenAllCategoriesAllowedWhenAlexaQueriesThenStateReportCarriesEveryThermostatProperty) {
    Harness h(FW_KIND_THERMOSTAT);
    thermostat_scene(h);
    h.allow(kVoice, FW_CATS_ALL);
    h.command(R"({"id":2,"op":"interact","via":"voice","recipient":"voice-partner","action":"query"})");
    const auto v = h.to("voice-partner");
    ASSERT_EQ(v.size(), 1u);
    const json& j = v[0].json;
    EXPECT_EQ(j.at("event").at("header").at("name"), "StateReport");
    EXPECT_EQ(j.at("event").at("payload"), json::object());
    const std::string t = "2026-01-05T03:12:09.120Z";
    EXPECT_EQ(j.at("context").at("properties"),
              json::array({
                  prop("Alexa.TemperatureSensor", "temperature", {{"value", 21.5}, {"scale", "CELSIUS"}}, t),
                  prop("Alexa.HumiditySensor", "relativeHumidity", 45, t),
                  prop("Alexa.ThermostatController", "targetSetpoint", {{"value", 20.0}, {"scale", "CELSIUS"}}, t),
                  prop("Alexa.ThermostatController", "thermostatMode", "HEAT", t),
                  prop("Alexa.ThermostatController.HVAC.Components", "primaryHeaterOperation", "OFF", t),
                  prop("Alexa.ThermostatController.HVAC.Components", "coolerOperation", "OFF", t),
                  prop("Alexa.MotionSensor", "detectionState", "DETECTED", t),
                  prop("Alexa.EndpointHealth", "connectivity", {{"value", "OK"}}, t),
              }));
}

TEST(FwFormats, GivenOpenDoorAndUnlockedLockWhenReportedToAlexaThenLockContactAndBatteryPropertiesAreRight) {
    Harness h(FW_KIND_LOCK);
    h.id = "lock-front";
    h.cfg.auto_relock_ms = 0;
    h.boot();
    h.allow(kVoice, FW_CATS_ALL);
    h.sensor(FW_SENSOR_THUMB_TURN, 0);
    h.sensor(FW_SENSOR_DOOR, 0);
    const auto v = h.to("voice-partner");
    ASSERT_EQ(v.size(), 2u);
    const json& j = v[1].json;
    const std::string t = wall_at(0);
    EXPECT_EQ(j.at("event").at("endpoint").at("endpointId"), "lock-front");
    // a door-contact observation claims no interaction (the trace has none behind it)
    EXPECT_EQ(j.at("event").at("payload").at("change").at("cause").at("type"), "PERIODIC_POLL");
    EXPECT_EQ(j.at("event").at("payload").at("change").at("properties"),
              json::array({prop("Alexa.ContactSensor", "detectionState", "DETECTED", t)}));
    EXPECT_EQ(j.at("context").at("properties"),
              json::array({
                  prop("Alexa.LockController", "lockState", "UNLOCKED", t),
                  prop("Alexa.EndpointHealth", "battery", {{"health", {{"state", "OK"}}}, {"levelPercentage", 100}}, t),
                  prop("Alexa.EndpointHealth", "connectivity", {{"value", "OK"}}, t),
              }));
}

TEST(FwFormats, GivenGooglePartnerWhenAppQueriesThenReportStateHasRequestAgentAndDeviceStates) {
    Harness h(FW_KIND_THERMOSTAT);
    thermostat_scene(h);
    h.command(R"({"id":2,"op":"interact","via":"app","recipient":"google-partner","action":"query"})");
    const auto v = h.to("google-partner");
    ASSERT_EQ(v.size(), 1u);
    const json& j = v[0].json;
    EXPECT_EQ(j.size(), 3u);
    EXPECT_TRUE(std::regex_match(j.at("requestId").get<std::string>(), kUuid));
    EXPECT_EQ(j.at("agentUserId"), "agent-7");
    EXPECT_EQ(j.at("payload"),
              json({{"devices",
                     {{"states",
                       {{"thermo-1",
                         {{"thermostatTemperatureAmbient", 21.5},
                          {"thermostatHumidityAmbient", 45},
                          {"thermostatTemperatureSetpoint", 20.0},
                          {"thermostatMode", "heat"},
                          {"activeThermostatMode", "none"},
                          {"occupancy", "OCCUPIED"},
                          {"online", true}}}}}}}}));
}

TEST(FwFormats, GivenGooglePartnerAndLockWhenLockChangesThenIsLockedOpenPercentAndCapacityAreReported) {
    Harness h(FW_KIND_LOCK);
    h.id = "lock-front";
    h.cfg.auto_relock_ms = 0;
    h.boot();
    h.allow(kGoogle, FW_CATS_ALL);
    h.sensor(FW_SENSOR_DOOR, 0);
    h.command(R"({"id":2,"op":"interact","via":"app","recipient":"google-partner","action":"query"})");
    const auto v = h.to("google-partner");
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[0].json.at("payload").at("devices").at("states"),
              json({{"lock-front", {{"openPercent", 100}, {"online", true}}}}));
    EXPECT_EQ(v[1].json.at("payload").at("devices").at("states").at("lock-front"),
              json({{"isLocked", true}, {"openPercent", 100},
                    {"descriptiveCapacityRemaining", "FULL"}, {"online", true}}));
}

TEST(FwFormats, GivenMatterControllerWhenItQueriesThenReportDataUsesClusterAttributeIdsAndUnits) {
    Harness h(FW_KIND_THERMOSTAT);
    thermostat_scene(h);
    h.command(R"({"id":2,"op":"interact","via":"app","recipient":"matter-ctrl","action":"query"})");
    const auto v = h.to("matter-ctrl");
    ASSERT_EQ(v.size(), 1u);
    auto rep = [](int c, int a, int val) {
        return json({{"endpoint", 1}, {"cluster", c}, {"attribute", a}, {"value", val}});
    };
    EXPECT_EQ(v[0].json,
              json({{"interaction", "ReportData"},
                    {"subscriptionId", 4},
                    {"reports", json::array({rep(513, 0, 2150), rep(1029, 0, 4500),
                                             rep(513, 18, 2000), rep(513, 28, 4),
                                             rep(513, 41, 0), rep(513, 2, 1)})}}));
}

TEST(FwFormats, GivenMatterControllerAndLockWhenUnlockedAndOpenThenLockStateDoorStateAndHalfPercentBattery) {
    Harness h(FW_KIND_LOCK);
    h.cfg.auto_relock_ms = 0;
    h.boot();
    h.sensor(FW_SENSOR_BATTERY, 8750);
    h.sensor(FW_SENSOR_THUMB_TURN, 0);
    h.sensor(FW_SENSOR_DOOR, 0);
    h.command(R"({"id":2,"op":"interact","via":"app","recipient":"matter-ctrl","action":"query"})");
    const auto v = h.to("matter-ctrl");
    ASSERT_EQ(v.size(), 1u);
    auto rep = [](int c, int a, int val) {
        return json({{"endpoint", 1}, {"cluster", c}, {"attribute", a}, {"value", val}});
    };
    EXPECT_EQ(v[0].json.at("reports"),
              json::array({rep(257, 0, 2), rep(257, 3, 0), rep(47, 12, 175)}));
}

TEST(FwFormats, GivenVendorJsonWhenTemperatureChangesThenStateBodyNamesDeviceCauseAndSampleTime) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    h.allow(kVendor, FW_CATS_ALL);
    h.run_until(90 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, -150);
    const auto v = h.to("vendor-cloud");
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].json, json({{"type", "state"},
                               {"device", "thermo-1"},
                               {"cause", "PERIODIC_POLL"},
                               {"sampled_at", wall_at(90 * kS)},
                               {"state", {{"temperature", -1.5}}}}));
    EXPECT_EQ(v[0].body.find("-1.5"), v[0].body.find("\"temperature\":") + 14);
}

TEST(FwFormats, GivenHostileDeviceIdWhenEveryFormatCarriesItThenBodiesParseAndTheIdIsEscaped) {
    Harness h(FW_KIND_THERMOSTAT, FW_PROFILE_PROACTIVE);
    h.id = "evil\"},{\"x\":\"\\\n\x01\x7f</script>\xff\xc3\x28\xc3\xa9";
    ASSERT_EQ(h.id.size(), 31u);
    h.boot();
    h.sensor(FW_SENSOR_TEMPERATURE, 2100);
    ASSERT_EQ(h.uplinks.size(), 4u);
    const std::string want =
        std::string("evil\"},{\"x\":\"\\\n\x01\x7f</script>") + "\xEF\xBF\xBD" + "\xEF\xBF\xBD" + "(" +
        "\xC3\xA9";
    for (const auto& u : h.uplinks) {
        ASSERT_TRUE(u.parsed) << u.format << ": " << u.body;
        EXPECT_EQ(u.body.find('\x01'), std::string::npos) << u.format;
        EXPECT_EQ(u.body.find('\n'), std::string::npos) << u.format;
        EXPECT_EQ(u.body.find('\xff'), std::string::npos) << u.format;
    }
    EXPECT_EQ(h.to("voice-partner")[0].json.at("event").at("endpoint").at("endpointId"), want);
    EXPECT_EQ(h.to("vendor-cloud")[0].json.at("device"), want);
    const auto g = h.to("google-partner");
    const auto& states = g.at(0).json.at("payload").at("devices").at("states");
    ASSERT_EQ(states.size(), 1u);
    EXPECT_EQ(states.begin().key(), want);
}

TEST(FwFormats, GivenLongestEscapedIdAndEveryCategoryWhenAlexaReportsThenTheFrameStillFitsTheBoardProtocol) {
    Harness h(FW_KIND_THERMOSTAT);
    h.id = std::string(FW_ID_MAX, '\x01');  // each byte becomes \u0001: 6x
    h.cfg.recipients[kVoice].name = "a-recipient-name-of-forty-seven-characters-----";
    ASSERT_EQ(std::string(h.cfg.recipients[kVoice].name).size(), FW_NAME_MAX - 1u);
    h.boot();
    h.sensor(FW_SENSOR_TEMPERATURE, -4999);
    h.sensor(FW_SENSOR_HUMIDITY, 100);
    h.allow(kVoice, FW_CATS_ALL);
    h.command(R"({"id":2,"op":"interact","via":"voice","recipient":"a-recipient-name-of-forty-seven-characters-----","action":"query"})");
    ASSERT_EQ(h.uplinks.size(), 1u) << (h.logs.empty() ? "" : h.logs.back());
    const auto& u = h.uplinks[0];
    ASSERT_TRUE(u.parsed);
    EXPECT_EQ(u.json.at("context").at("properties").size(), 8u);
    // UPLINK payload = {"t":<ms>,"to":"…","format":"alexa","body":…}; frame body adds 8 bytes
    const std::string envelope = R"({"t":18446744073709551615,"to":")" + u.to +
                                 R"(","format":"alexa","body":)" + u.body + "}";
    EXPECT_LE(envelope.size() + 8, 2048u) << "body is " << u.body.size() << " bytes";
    EXPECT_LT(u.body.size(), static_cast<std::size_t>(FW_BODY_MAX));
}

TEST(FwFormats, GivenSameSeedAndInputsWhenRunTwiceThenUplinksAreByteIdenticalAndMessageIdsDiffer) {
    auto run = [](std::uint32_t seed) {
        Harness h(FW_KIND_THERMOSTAT, FW_PROFILE_PROACTIVE);
        h.boot(0, seed);
        for (int i = 0; i < 5; ++i) {
            h.run_until(static_cast<std::uint64_t>(i + 1) * kMin);
            h.sensor(FW_SENSOR_TEMPERATURE, 2000 + 100 * i);
        }
        std::vector<std::string> out;
        for (const auto& u : h.uplinks) out.push_back(u.to + " " + u.body);
        return out;
    };
    const auto a = run(1), b = run(1), c = run(2);
    ASSERT_EQ(a.size(), 20u);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    std::set<std::string> ids;
    for (const auto& s : a) {
        const auto pos = s.find("\"messageId\":\"");
        if (pos != std::string::npos) ids.insert(s.substr(pos + 13, 36));
    }
    EXPECT_EQ(ids.size(), 5u) << "one fresh messageId per alexa message";
}

TEST(FwFormats, GivenEveryBufferSizeWhenBodiesAndTruthsAreBuiltThenEachIsWholeOrNothing) {
    // GIVEN a thermostat and a lock state whose texts hold every kind of number the writer
    // formats (negative and two-decimal temperature, humidity, battery), and a sample time
    fw_snapshot thermo{};
    thermo.t.temp_centi_c = -1234;
    thermo.t.setpoint_centi_c = 2150;
    thermo.t.humidity_pct = 45;
    thermo.t.bits = SNAP_BITS(FW_MODE_HEAT, FW_HVAC_HEATING, 1);
    fw_snapshot lock{};
    lock.l.lock_state = FW_LOCK_UNLOCKED;
    lock.l.battery_half_pct = 173;
    struct Case {
        fw_kind kind;
        const fw_snapshot* snap;
        fw_format format;
    };
    for (const Case& c : {Case{FW_KIND_THERMOSTAT, &thermo, FW_FMT_JSON}, Case{FW_KIND_THERMOSTAT, &thermo, FW_FMT_ALEXA},
                          Case{FW_KIND_LOCK, &lock, FW_FMT_JSON}, Case{FW_KIND_LOCK, &lock, FW_FMT_MATTER}}) {
        fw_body_in in{};
        in.kind = c.kind;
        in.format = c.format;
        in.change = fw_snapshot_present(c.kind, c.snap) & fw_format_categories(c.format);
        in.cause = FW_CAUSE_PERIODIC_POLL;
        in.snap = c.snap;
        in.sample_wall_ms = 1767582729120;  // 2026-01-05T03:12:09.120Z
        in.id = "thermo-1";
        in.id_len = 8;
        in.subscription_id = 1;
        std::array<char, FW_BODY_MAX> full{};
        const std::size_t body_len = fw_build_body(&in, full.data(), full.size());
        std::array<char, FW_TRUTH_MAX> full_truth{};
        const std::size_t truth_len = fw_build_truth(c.kind, c.snap, full_truth.data(), full_truth.size());
        ASSERT_GT(body_len, 0u);
        ASSERT_GT(truth_len, 0u);
        // WHEN they are built into buffers of every size from empty to one byte more than needed
        // (each number is written in place where its longest text fits, else copied: both paths)
        for (std::size_t cap = 0; cap <= body_len + 1; ++cap) {
            std::vector<char> buf(cap + 1, '#');
            const std::size_t n = fw_build_body(&in, buf.data(), cap);
            // THEN a body is all there, NUL-terminated, or not there at all, and nothing is
            // written past the buffer
            if (cap > body_len) {
                ASSERT_EQ(n, body_len) << "format " << c.format << ", cap " << cap;
                EXPECT_EQ(std::string(buf.data(), n), std::string(full.data(), body_len));
                EXPECT_EQ(buf[n], '\0');
            } else {
                ASSERT_EQ(n, 0u) << "format " << c.format << ", cap " << cap;
            }
            EXPECT_EQ(buf[cap], '#') << "cap " << cap;
        }
        for (std::size_t cap = 0; cap <= truth_len + 1; ++cap) {
            std::vector<char> buf(cap + 1, '#');
            const std::size_t n = fw_build_truth(c.kind, c.snap, buf.data(), cap);
            ASSERT_EQ(n, cap > truth_len ? truth_len : 0u) << "truth, cap " << cap;
            if (n > 0) {
                EXPECT_EQ(std::string(buf.data(), n), std::string(full_truth.data(), truth_len));
            }
            EXPECT_EQ(buf[cap], '#') << "cap " << cap;
        }
    }
}
