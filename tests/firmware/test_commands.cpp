// The COMMAND parser (PROTOCOL.md §1) and how the device applies commands; REPLY writer;
// time_scale; reset; the per-device memory budget; hosting many devices on one config.
#include "fw_harness.hpp"

#include <cstring>
#include <functional>
#include <map>
#include <queue>
#include <set>

using namespace fwtest;

namespace {

fw_command parse_ok(const std::string& s) {
    fw_command c;
    const char* err = fw_parse_command(s.data(), s.size(), &c);
    EXPECT_EQ(err, nullptr) << s << " -> " << (err ? err : "");
    return c;
}

std::string parse_err(const std::string& s) {
    fw_command c;
    const char* err = fw_parse_command(s.data(), s.size(), &c);
    return err ? err : "<accepted>";
}

}  // namespace

TEST(FwParse, GivenEveryOpWithValidArgumentsWhenParsedThenTheCommandFieldsAreFilled) {
    fw_command c = parse_ok(R"({"id":4294967295,"op":"set_clock","epoch_ms":1767582729120})");
    EXPECT_EQ(c.id, 4294967295u);
    EXPECT_EQ(c.op, FW_OP_SET_CLOCK);
    EXPECT_EQ(c.epoch_ms, 1767582729120ULL);

    c = parse_ok(R"( { "op" : "interact", "id" : 2, "via":"voice", "recipient":"voice-partner",
                   "action":"set_setpoint", "value": 21.25, "extra": {"ignored":[1,2,{"a":null}]} } )");
    EXPECT_EQ(c.op, FW_OP_INTERACT);
    EXPECT_EQ(c.via, FW_VIA_VOICE);
    EXPECT_STREQ(c.recipient, "voice-partner");
    EXPECT_EQ(c.action, FW_ACTION_SET_SETPOINT);
    EXPECT_TRUE(c.has_value);
    EXPECT_EQ(c.value, 2125);

    c = parse_ok(R"({"id":3,"op":"interact","via":"app","recipient":"g","action":"set_mode","value":"auto"})");
    EXPECT_EQ(c.via, FW_VIA_APP);
    EXPECT_EQ(c.value, FW_MODE_AUTO);
    c = parse_ok(R"({"id":3,"op":"interact","via":"physical","action":"lock"})");
    EXPECT_EQ(c.via, FW_VIA_PHYSICAL);
    EXPECT_EQ(c.action, FW_ACTION_LOCK);
    EXPECT_STREQ(c.recipient, "");
    c = parse_ok(R"({"id":3,"op":"interact","via":"app","recipient":"g","action":"unlock"})");
    EXPECT_EQ(c.action, FW_ACTION_UNLOCK);
    c = parse_ok(R"({"id":3,"op":"interact","via":"voice","recipient":"g","action":"query"})");
    EXPECT_EQ(c.action, FW_ACTION_QUERY);
    EXPECT_FALSE(c.has_value);

    c = parse_ok(R"({"id":5,"op":"consent","recipient":"vendor-cloud","categories":["temperature","occupancy"],"granted":false})");
    EXPECT_EQ(c.op, FW_OP_CONSENT);
    EXPECT_EQ(c.categories, FW_CAT_BIT(FW_CAT_TEMPERATURE) | FW_CAT_BIT(FW_CAT_OCCUPANCY));
    EXPECT_FALSE(c.granted);
    c = parse_ok(R"({"id":5,"op":"consent","recipient":"vendor-cloud","categories":["all"],"granted":true})");
    EXPECT_EQ(c.categories, FW_CATS_ALL);
    EXPECT_TRUE(c.granted);

    c = parse_ok(R"({"id":6,"op":"link","recipient":"voice\u002dpartner","linked":false})");
    EXPECT_EQ(c.op, FW_OP_LINK);
    EXPECT_STREQ(c.recipient, "voice-partner");
    EXPECT_FALSE(c.linked);

    c = parse_ok(R"({"id":7,"op":"network","up":true})");
    EXPECT_EQ(c.op, FW_OP_NETWORK);
    EXPECT_TRUE(c.up);

    c = parse_ok(R"({"id":8,"op":"env","outdoor_c":-3.5,"occupied":true,"door":"open"})");
    EXPECT_EQ(c.op, FW_OP_ENV);
    EXPECT_TRUE(c.has_outdoor);
    EXPECT_EQ(c.outdoor_centi_c, -350);
    EXPECT_TRUE(c.has_occupied);
    EXPECT_TRUE(c.occupied);
    EXPECT_TRUE(c.has_door);
    EXPECT_FALSE(c.door_closed);
    c = parse_ok(R"({"id":8,"op":"env","door":"closed"})");
    EXPECT_FALSE(c.has_outdoor);
    EXPECT_TRUE(c.door_closed);

    for (int p = 0; p < FW_PROFILE_COUNT; ++p) {
        c = parse_ok(std::string(R"({"id":9,"op":"profile","name":")") +
                     fw_profile_name(static_cast<fw_profile>(p)) + "\"}");
        EXPECT_EQ(c.op, FW_OP_PROFILE);
        EXPECT_EQ(c.profile, p);
    }

    c = parse_ok(R"({"id":10,"op":"time_scale","factor":2.5})");
    EXPECT_EQ(c.op, FW_OP_TIME_SCALE);
    EXPECT_EQ(c.factor_milli, 2500u);
    c = parse_ok(R"({"id":10,"op":"time_scale","factor":1e2})");
    EXPECT_EQ(c.factor_milli, 100000u);

    c = parse_ok(R"({"id":11,"op":"reset"})");
    EXPECT_EQ(c.op, FW_OP_RESET);
    EXPECT_EQ(c.id, 11u);
}

TEST(FwParse, GivenMalformedOrInvalidCommandsWhenParsedThenEachIsRejectedWithItsReason) {
    const std::map<std::string, std::string> cases = {
        {R"([1,2])", "payload is not a JSON object"},
        {R"({"id":1,"op":"reset")", "invalid JSON"},
        {R"({"id":1,"op":"reset"} x)", "invalid JSON"},
        {R"({"id":1,"op":"reset",})", "invalid JSON"},
        {R"({"id":1,"op":"re\qset"})", "invalid JSON"},
        {"{\"id\":1,\"op\":\"re\nset\"}", "invalid JSON"},
        {R"({"id":01,"op":"reset"})", "invalid JSON"},
        {R"({"op":"reset"})", "missing id"},
        {R"({"id":-1,"op":"reset"})", "id must be an integer 0...4294967295"},
        {R"({"id":1.5,"op":"reset"})", "id must be an integer 0...4294967295"},
        {R"({"id":4294967296,"op":"reset"})", "id must be an integer 0...4294967295"},
        {R"({"id":1})", "missing op"},
        {R"({"id":1,"op":7})", "op must be a string"},
        {R"({"id":1,"op":"reboot"})", "unknown op"},
        {R"({"id":1,"op":"set_clock"})", "set_clock: missing epoch_ms"},
        {R"({"id":1,"op":"set_clock","epoch_ms":-5})", "set_clock: epoch_ms must be a non-negative integer"},
        {R"({"id":1,"op":"set_clock","epoch_ms":"now"})", "set_clock: epoch_ms must be a non-negative integer"},
        {R"({"id":1,"op":"interact","action":"query"})", "interact: missing via"},
        {R"({"id":1,"op":"interact","via":"telepathy","action":"query"})", "interact: via must be voice, app or physical"},
        {R"({"id":1,"op":"interact","via":"voice","action":"query"})", "interact: missing recipient (voice/app)"},
        {R"({"id":1,"op":"interact","via":"voice","recipient":"","action":"query"})", "interact: recipient must be a non-empty string"},
        {R"({"id":1,"op":"interact","via":"voice","recipient":"r"})", "interact: missing action"},
        {R"({"id":1,"op":"interact","via":"voice","recipient":"r","action":"dance"})", "interact: unknown action"},
        {R"({"id":1,"op":"interact","via":"voice","recipient":"r","action":"set_setpoint"})", "interact: set_setpoint needs a value (Celsius)"},
        {R"({"id":1,"op":"interact","via":"voice","recipient":"r","action":"set_setpoint","value":"warm"})", "interact: set_setpoint value must be a number (Celsius)"},
        {R"({"id":1,"op":"interact","via":"voice","recipient":"r","action":"set_setpoint","value":1e9})", "interact: set_setpoint value out of range"},
        {R"({"id":1,"op":"interact","via":"voice","recipient":"r","action":"set_mode","value":"turbo"})", "interact: set_mode value must be off, heat, cool, auto or eco"},
        {R"({"id":1,"op":"consent","categories":["all"],"granted":true})", "consent: missing recipient"},
        {R"({"id":1,"op":"consent","recipient":"r","granted":true})", "consent: missing categories"},
        {R"({"id":1,"op":"consent","recipient":"r","categories":"all","granted":true})", "consent: categories must be an array of names"},
        {R"({"id":1,"op":"consent","recipient":"r","categories":[],"granted":true})", "consent: categories is empty"},
        {R"({"id":1,"op":"consent","recipient":"r","categories":["mood"],"granted":true})", "consent: unknown category"},
        {R"({"id":1,"op":"consent","recipient":"r","categories":[3],"granted":true})", "consent: categories must be an array of names"},
        {R"({"id":1,"op":"consent","recipient":"r","categories":["battery"]})", "consent: missing granted"},
        {R"({"id":1,"op":"consent","recipient":"r","categories":["battery"],"granted":"yes"})", "consent: granted must be true or false"},
        {R"({"id":1,"op":"link","recipient":"r"})", "link: missing linked"},
        {R"({"id":1,"op":"link","linked":true})", "link: missing recipient"},
        {R"({"id":1,"op":"link","recipient":"r","linked":1})", "link: linked must be true or false"},
        {R"({"id":1,"op":"network"})", "network: missing up"},
        {R"({"id":1,"op":"network","up":null})", "network: up must be true or false"},
        {R"({"id":1,"op":"env"})", "env: needs outdoor_c, occupied or door"},
        {R"({"id":1,"op":"env","outdoor_c":"cold"})", "env: outdoor_c must be a number (Celsius)"},
        {R"({"id":1,"op":"env","outdoor_c":500})", "env: outdoor_c out of range (-100...100)"},
        {R"({"id":1,"op":"env","occupied":"no"})", "env: occupied must be true or false"},
        {R"({"id":1,"op":"env","door":"ajar"})", "env: door must be \"open\" or \"closed\""},
        {R"({"id":1,"op":"profile"})", "profile: missing name"},
        {R"({"id":1,"op":"profile","name":"sneaky"})", "profile: unknown profile"},
        {R"({"id":1,"op":"time_scale"})", "time_scale: missing factor"},
        {R"({"id":1,"op":"time_scale","factor":0.5})", "time_scale: factor must be >= 1"},
        {R"({"id":1,"op":"time_scale","factor":1001})", "time_scale: factor too large (max 1000)"},
        {R"({"id":1,"op":"time_scale","factor":"fast"})", "time_scale: factor must be a number"},
    };
    for (const auto& [payload, reason] : cases) EXPECT_EQ(parse_err(payload), reason) << payload;

    const std::string long_name(FW_NAME_MAX, 'r');
    EXPECT_EQ(parse_err(R"({"id":1,"op":"link","recipient":")" + long_name + R"(","linked":true})"),
              "link: recipient too long");
    std::string deep = R"({"id":1,"op":"reset","x":)";
    for (int i = 0; i < 40; ++i) deep += "[";
    for (int i = 0; i < 40; ++i) deep += "]";
    EXPECT_EQ(parse_err(deep + "}"), "invalid JSON");
}

TEST(FwParse, GivenAnErrorAfterTheIdWhenParsedThenTheIdIsStillAvailableForTheReply) {
    fw_command c;
    const std::string s = R"({"id":77,"op":"nope"})";
    EXPECT_NE(fw_parse_command(s.data(), s.size(), &c), nullptr);
    EXPECT_EQ(c.id, 77u);
}

TEST(FwParse, GivenReplyWriterWhenOkOrErrorThenPayloadIsTheProtocolReply) {
    char buf[128];
    std::size_t n = fw_write_reply(buf, sizeof buf, 12, nullptr);
    EXPECT_EQ(std::string(buf, n), R"({"id":12,"ok":true})");
    n = fw_write_reply(buf, sizeof buf, 13, "env: door must be \"open\" or \"closed\"");
    EXPECT_EQ(nlohmann::json::parse(std::string(buf, n)),
              nlohmann::json({{"id", 13}, {"ok", false},
                              {"error", "env: door must be \"open\" or \"closed\""}}));
    EXPECT_EQ(fw_write_reply(buf, 10, 13, nullptr), 0u);
}

TEST(FwCommands, GivenCommandsTheDeviceCannotApplyWhenAppliedThenTheyAreRefusedWithReasons) {
    Harness t(FW_KIND_THERMOSTAT);
    t.boot();
    EXPECT_STREQ(t.command_result(R"({"id":1,"op":"link","recipient":"nobody","linked":true})"),
                 "unknown recipient");
    EXPECT_STREQ(t.command_result(R"({"id":1,"op":"interact","via":"app","recipient":"google-partner","action":"lock"})"),
                 "interact: a thermostat cannot lock or unlock");
    EXPECT_STREQ(t.command_result(R"({"id":1,"op":"interact","via":"app","recipient":"google-partner","action":"set_setpoint","value":40})"),
                 "setpoint out of range");
    EXPECT_STREQ(t.command_result(R"({"id":1,"op":"time_scale","factor":10})"),
                 "time_scale: not supported (no cap time_scale)");
    EXPECT_EQ(fw_setpoint_centi_c(&t.dev), 2000);

    Harness l(FW_KIND_LOCK);
    l.boot();
    EXPECT_STREQ(l.command_result(R"({"id":1,"op":"interact","via":"physical","action":"set_mode","value":"heat"})"),
                 "interact: a lock has no setpoint or mode");
    EXPECT_STREQ(fw_on_sensor(&l.dev, 0, FW_SENSOR_TEMPERATURE, 2000), "sensor not fitted to a lock");
    EXPECT_STREQ(fw_set_basis_allowed(&l.dev, 0, 4, FW_CATS_ALL), "recipient index out of range");
}

TEST(FwCommands, GivenEnvCommandWhenDoorOrOccupancyGivenThenTheDeviceSensesThem) {
    Harness l(FW_KIND_LOCK);
    l.boot();
    l.command(R"({"id":1,"op":"env","door":"open","outdoor_c":5})");
    EXPECT_FALSE(fw_door_closed(&l.dev));
    Harness t(FW_KIND_THERMOSTAT);
    t.boot();
    t.command(R"({"id":1,"op":"env","occupied":false})");
    EXPECT_EQ(t.truths.back().state.at("occupancy"), false);
}

TEST(FwCommands, GivenSetClockWhenReportsFollowThenTheirSampleTimeIsTheNewWallClock) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    h.allow(kVendor, FW_CATS_ALL);
    h.run_until(5 * kS);
    h.command(R"({"id":1,"op":"set_clock","epoch_ms":1709251199000})");
    EXPECT_EQ(fw_wall_clock_ms(&h.dev, h.now), 1709251199000ULL);
    h.run_until(5 * kS + 999);
    h.sensor(FW_SENSOR_TEMPERATURE, 2100);
    ASSERT_EQ(h.to("vendor-cloud").size(), 1u);
    EXPECT_EQ(h.to("vendor-cloud")[0].json.at("sampled_at"), "2024-02-29T23:59:59.999Z");
}

TEST(FwCommands, GivenTimeScaleTenWhenRoomIsColdThenMinOffPassesInATenthOfTheHostTime) {
    Harness h(FW_KIND_THERMOSTAT);
    h.cfg.allow_time_scale = true;
    h.boot();
    h.command(R"({"id":1,"op":"time_scale","factor":10})");
    h.run_until(1 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 1800);
    h.run_until(100 * kS);
    const auto r = h.actuations_of(FW_ACT_HVAC_RELAY);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[1].t, 30 * kS);  // 300 s of device time
    EXPECT_EQ(fw_wall_clock_ms(&h.dev, 60 * kS), kEpoch + 600 * kS);
}

TEST(FwCommands, GivenChangedDeviceWhenResetThenItIsBackToBootStateAndEmitsTruth) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    h.command(R"({"id":1,"op":"interact","via":"physical","action":"set_setpoint","value":25})");
    h.command(R"({"id":2,"op":"profile","name":"proactive"})");
    h.command(R"({"id":3,"op":"network","up":false})");
    const std::size_t truths = h.truths.size();
    h.run_until(10 * kS);
    h.command(R"({"id":4,"op":"reset"})");
    EXPECT_EQ(fw_setpoint_centi_c(&h.dev), 2000);
    EXPECT_EQ(fw_get_profile(&h.dev), FW_PROFILE_COMPLIANT);
    EXPECT_TRUE(fw_network_up(&h.dev));
    ASSERT_EQ(h.truths.size(), truths + 1);
    EXPECT_EQ(h.truths.back().t, 10 * kS);
    EXPECT_EQ(h.truths.back().state.at("setpoint"), 20.0);
}

TEST(FwBudget, GivenTheDeviceLayoutWhenMeasuredThenTwoRecipientsFitIn112BytesAndFourIn136) {
    EXPECT_LE(FW_DEVICE_SIZE(2), 112u);
    EXPECT_LE(FW_DEVICE_SIZE(FW_MAX_RECIPIENTS), 136u);
    EXPECT_GE(offsetof(fw_device, rcp), 64u) << "sanity: the state is not accidentally elsewhere";
    for (std::uint8_t n = 0; n <= FW_MAX_RECIPIENTS; ++n) {
        EXPECT_EQ(fw_device_size(n), FW_DEVICE_SIZE(n)) << n << " recipients";
        EXPECT_GE(fw_device_size(n), offsetof(fw_device, rcp) + n * sizeof(fw_recipient_state));
        EXPECT_EQ(fw_device_size(n) % alignof(fw_device), 0u) << "devices sit back to back";
    }
    EXPECT_EQ(sizeof(fw_device_storage), FW_DEVICE_SIZE(FW_MAX_RECIPIENTS));
}

namespace {

/// A device's bytes with guard bytes on both sides that it must never touch.
struct Guarded {
    static constexpr std::size_t kGuard = 64;
    static constexpr unsigned char kPattern = 0xA5;
    std::size_t size;
    std::vector<std::uint64_t> words;  ///< 8-byte aligned backing store
    explicit Guarded(std::size_t n) : size(n), words((2 * kGuard + n + 7) / 8) {
        std::memset(words.data(), kPattern, words.size() * 8);
    }
    unsigned char* bytes() { return reinterpret_cast<unsigned char*>(words.data()); }
    fw_device* device() { return reinterpret_cast<fw_device*>(bytes() + kGuard); }
    /// Offsets (relative to the device) of guard bytes that changed.
    std::vector<long> touched_outside() {
        std::vector<long> out;
        for (std::size_t i = 0; i < words.size() * 8; ++i) {
            const bool inside = i >= kGuard && i < kGuard + size;
            if (!inside && bytes()[i] != kPattern) out.push_back(static_cast<long>(i) - static_cast<long>(kGuard));
        }
        return out;
    }
};

}  // namespace

TEST(FwBudget, GivenTwoRecipientsWhenTheDeviceLivesInExactlyFwDeviceSize2BytesThenEverythingWorksAndNothingOutsideIsWritten) {
    // GIVEN a thermostat with the harness's first two recipients (voice-partner alexa with an
    // interaction window, vendor-cloud json with the heartbeat), placed in exactly
    // FW_DEVICE_SIZE(2) bytes between 64 guard bytes of 0xA5 on each side
    static_assert(alignof(fw_device) <= alignof(std::uint64_t));
    Guarded g(FW_DEVICE_SIZE(2));
    Harness h(FW_KIND_THERMOSTAT, FW_PROFILE_COMPLIANT, g.device());
    h.cfg.recipient_count = 2;
    h.cfg.heartbeat_interval_ms = 3600 * kS;
    h.boot();
    ASSERT_TRUE(g.touched_outside().empty()) << "fw_init wrote outside the device";

    // WHEN consent, link, interaction, basis, network, profile and report paths all run
    h.allow(kVendor, FW_CATS_ALL);
    h.sensor(FW_SENSOR_TEMPERATURE, 2100);
    h.run_until(100 * kS);
    h.command(R"({"id":1,"op":"interact","via":"voice","recipient":"voice-partner","action":"query"})");
    h.command(R"({"id":2,"op":"consent","recipient":"vendor-cloud","categories":["temperature"],"granted":false})");
    const std::uint16_t vendor_allowed = fw_allowed_now(&h.dev, h.now, kVendor);
    const std::uint16_t voice_allowed = fw_allowed_now(&h.dev, h.now, kVoice);
    h.run_until(150 * kS);
    h.sensor(FW_SENSOR_SETPOINT_DIAL, 2200);
    h.command(R"({"id":3,"op":"link","recipient":"voice-partner","linked":false})");
    const bool voice_linked = fw_is_linked(&h.dev, kVoice);
    h.command(R"({"id":4,"op":"link","recipient":"voice-partner","linked":true})");
    h.command(R"({"id":5,"op":"profile","name":"flush_after_revoke"})");
    h.run_until(200 * kS);
    h.sensor(FW_SENSOR_SETPOINT_DIAL, 2300);
    h.command(R"({"id":6,"op":"network","up":false})");
    h.run_until(300 * kS);
    h.sensor(FW_SENSOR_SETPOINT_DIAL, 2400);
    h.command(R"({"id":7,"op":"network","up":true})");
    h.run_until(2 * 3600 * kS);
    h.command(R"({"id":8,"op":"reset"})");
    h.run_until(3 * 3600 * kS);

    // THEN the device kept its per-recipient state (window, withdrawal, link, basis) and
    // reported to both recipients, and not one guard byte changed
    EXPECT_EQ(vendor_allowed, FW_CATS_ALL & ~FW_CAT_BIT(FW_CAT_TEMPERATURE));
    EXPECT_EQ(voice_allowed, h.cfg.recipients[kVoice].interaction_categories);
    EXPECT_FALSE(voice_linked);
    EXPECT_TRUE(fw_is_linked(&h.dev, kVoice));
    EXPECT_EQ(fw_allowed_now(&h.dev, h.now, kVendor), 0) << "reset: basis and consent from the config";
    EXPECT_FALSE(h.to("voice-partner").empty());
    EXPECT_GE(h.to("vendor-cloud").size(), 4u) << "reports, the flush and heartbeats";
    const std::vector<long> touched = g.touched_outside();
    EXPECT_TRUE(touched.empty()) << touched.size() << " guard bytes written, first at offset "
                                 << (touched.empty() ? 0 : touched[0]);
}

namespace {

struct Fleet {
    /// Devices back to back, FW_DEVICE_SIZE(1) bytes each (the config has one recipient).
    std::vector<std::uint64_t> words;
    fw_device* dev(std::size_t i) {
        return reinterpret_cast<fw_device*>(reinterpret_cast<unsigned char*>(words.data()) +
                                            i * FW_DEVICE_SIZE(1));
    }
    std::vector<std::size_t> uplinks;
    static std::size_t id(void* ctx, const fw_device* d, char* buf, std::size_t cap) {
        (void)ctx;
        const std::string s = "thermo-" + std::to_string(fw_host_tag(d));
        const std::size_t n = s.size() < cap ? s.size() : cap;
        s.copy(buf, n);
        return n;
    }
    static void up(void* ctx, const fw_device* d, std::uint64_t, const char*, const char*,
                   const char* body, std::size_t) {
        auto* f = static_cast<Fleet*>(ctx);
        ++f->uplinks[fw_host_tag(d)];
        EXPECT_NE(std::string(body).find("heartbeat"), std::string::npos);
    }
};

}  // namespace

TEST(FwFleet, GivenThousandDevicesSharingOneConfigWhenTwoHoursRunInVirtualTimeThenEachBeatsTwiceAtItsOwnPhase) {
    Fleet f;
    fw_config cfg;
    fw_config_defaults(&cfg, FW_KIND_THERMOSTAT);
    cfg.hal.ctx = &f;
    cfg.hal.uplink = &Fleet::up;
    cfg.hal.device_id = &Fleet::id;
    cfg.recipient_count = 1;
    cfg.recipients[0] = {"vendor-cloud", FW_FMT_JSON, 0, 0, FW_CAT_BIT(FW_CAT_CONNECTIVITY), true,
                         true, nullptr};
    cfg.report_max_silence_ms = 0;
    constexpr std::size_t kN = 1000;
    static_assert(FW_DEVICE_SIZE(1) % alignof(std::uint64_t) == 0);
    f.words.resize(kN * FW_DEVICE_SIZE(1) / sizeof(std::uint64_t));
    f.uplinks.assign(kN, 0);
    using Ev = std::pair<std::uint64_t, std::uint32_t>;
    std::priority_queue<Ev, std::vector<Ev>, std::greater<>> q;
    std::set<std::uint64_t> first_wakeups;
    for (std::uint32_t i = 0; i < kN; ++i) {
        ASSERT_EQ(fw_init(f.dev(i), &cfg, i, 2026, 0), nullptr);
        q.emplace(fw_next_wakeup(f.dev(i)), i);
        first_wakeups.insert(fw_next_wakeup(f.dev(i)));
    }
    const std::uint64_t end = 2 * 3600 * kS;
    while (!q.empty() && q.top().first <= end) {
        auto [t, i] = q.top();
        q.pop();
        fw_on_timer(f.dev(i), t);
        const std::uint64_t w = fw_next_wakeup(f.dev(i));
        ASSERT_GT(w, t);
        if (w != FW_NO_WAKEUP) q.emplace(w, i);
    }
    for (std::size_t i = 0; i < kN; ++i) EXPECT_EQ(f.uplinks[i], 2u) << "device " << i;
    EXPECT_GT(first_wakeups.size(), kN / 2) << "heartbeats are spread, not synchronised";
}
