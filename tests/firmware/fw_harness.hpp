#pragma once
/// tests/firmware/fw_harness.hpp — hosts one fw_device in virtual time and records everything
/// it does (uplinks, TRUTH, logs, actuations), the way the fleet simulator hosts millions.
#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

extern "C" {
#include "fw/fw.h"
}

namespace fwtest {

inline constexpr std::uint64_t kS = 1000;        // ms per second
inline constexpr std::uint64_t kMin = 60 * kS;   // ms per minute
inline constexpr std::uint64_t kEpoch = 1767571200000ULL;  // 2026-01-05T00:00:00.000Z

struct Uplink {
    std::uint64_t t;
    std::string to;
    std::string format;
    std::string body;
    nlohmann::json json;  ///< parsed body (null if it did not parse — tests check `parsed`)
    bool parsed;
};

struct Actuation {
    std::uint64_t t;
    fw_actuator actuator;
    std::int32_t value;
};

struct Truth {
    std::uint64_t t;
    nlohmann::json state;
};

enum Rcpt : unsigned { kVoice = 0, kVendor = 1, kGoogle = 2, kMatter = 3 };

/// A device with four recipients, one per format:
///   0 voice-partner  (alexa)  interaction basis, W = 120 s, temperature|setpoint|hvac_mode|lock_state
///   1 vendor-cloud   (json)   heartbeat recipient, standing basis: none unless a test sets it
///   2 google-partner (google) interaction basis W = 60 s, all categories
///   3 matter-ctrl    (matter) interaction basis W = 60 s, all categories
class Harness {
public:
    /// `place`: where the device lives (at least FW_DEVICE_SIZE(cfg.recipient_count) bytes,
    /// aligned for fw_device); nullptr: in the harness's own storage.
    explicit Harness(fw_kind kind, fw_profile profile = FW_PROFILE_COMPLIANT,
                     fw_device* place = nullptr)
        : dev(place != nullptr ? *place : *fw_device_in(&storage)) {
        fw_config_defaults(&cfg, kind);
        cfg.hal.ctx = this;
        cfg.hal.uplink = &Harness::on_uplink;
        cfg.hal.truth = &Harness::on_truth;
        cfg.hal.log = &Harness::on_log;
        cfg.hal.actuate = &Harness::on_actuate;
        cfg.hal.device_id = &Harness::on_device_id;
        cfg.hal.saf_ring = &Harness::on_saf_ring;
        cfg.recipient_count = 4;
        const std::uint16_t voice_cats =
            FW_CAT_BIT(FW_CAT_TEMPERATURE) | FW_CAT_BIT(FW_CAT_SETPOINT) |
            FW_CAT_BIT(FW_CAT_HVAC_MODE) | FW_CAT_BIT(FW_CAT_LOCK_STATE);
        cfg.recipients[kVoice] = {"voice-partner", FW_FMT_ALEXA, 120000, voice_cats, 0, true,
                                  false, nullptr};
        cfg.recipients[kVendor] = {"vendor-cloud", FW_FMT_JSON, 0, 0, 0, true, true, nullptr};
        cfg.recipients[kGoogle] = {"google-partner", FW_FMT_GOOGLE, 60000, FW_CATS_ALL, 0, true,
                                   false, "agent-7"};
        cfg.recipients[kMatter] = {"matter-ctrl", FW_FMT_MATTER, 60000, FW_CATS_ALL, 0, true,
                                   false, nullptr};
        cfg.profile_at_boot = profile;
        cfg.boot_epoch_ms = kEpoch;
        cfg.heartbeat_interval_ms = 0;  // tests about heartbeats switch it on
    }

    Harness(const Harness&) = delete;
    Harness& operator=(const Harness&) = delete;

    /// Boots the device at `now` (call after adjusting cfg).
    void boot(std::uint64_t t = 0, std::uint32_t seed = 42) {
        now = t;
        const char* err = fw_init(&dev, &cfg, 7, seed, now);
        ASSERT_EQ(err, nullptr) << err;
    }

    /// Runs the device's timers up to and including `t`, as the simulator's event loop does.
    void run_until(std::uint64_t t) {
        int same_time = 0;
        for (;;) {
            const std::uint64_t w = fw_next_wakeup(&dev);
            if (w == FW_NO_WAKEUP || w > t) break;
            const std::uint64_t at = w > now ? w : now;
            same_time = (at == now) ? same_time + 1 : 0;
            ASSERT_LT(same_time, 100) << "device keeps asking to wake at " << at;
            now = at;
            fw_on_timer(&dev, now);
            ++wakes;
        }
        now = t;
    }

    /// Parses and applies one COMMAND payload; fails the test on a parse or apply error.
    void command(const std::string& json) {
        const char* err = command_result(json);
        EXPECT_EQ(err, nullptr) << json << " -> " << (err ? err : "");
    }
    const char* command_result(const std::string& json) {
        fw_command c;
        const char* err = fw_parse_command(json.data(), json.size(), &c);
        if (err != nullptr) return err;
        return fw_on_command(&dev, now, &c);
    }

    void sensor(fw_sensor s, std::int32_t v) {
        const char* err = fw_on_sensor(&dev, now, s, v);
        EXPECT_EQ(err, nullptr) << (err ? err : "");
    }

    void allow(unsigned r, std::uint16_t mask) {
        EXPECT_EQ(fw_set_basis_allowed(&dev, now, r, mask), nullptr);
    }

    std::vector<Uplink> to(const std::string& recipient) const {
        std::vector<Uplink> out;
        for (const auto& u : uplinks)
            if (u.to == recipient) out.push_back(u);
        return out;
    }
    std::vector<Actuation> actuations_of(fw_actuator a) const {
        std::vector<Actuation> out;
        for (const auto& x : actuations)
            if (x.actuator == a) out.push_back(x);
        return out;
    }

    fw_config cfg{};
    fw_device_storage storage{};
    fw_device& dev;
    /// The store_and_forward buffer the host keeps for the device (fw_hal.saf_ring).
    fw_saf_ring saf{};
    bool give_saf_ring = true;
    int saf_ring_calls = 0;
    std::uint64_t now = 0;
    int wakes = 0;  ///< fw_on_timer calls run_until made (the device asked for them)
    std::string id = "thermo-1";
    std::vector<Uplink> uplinks;
    std::vector<Truth> truths;
    std::vector<std::string> logs;
    std::vector<Actuation> actuations;

private:
    static Harness* self(void* ctx) { return static_cast<Harness*>(ctx); }
    static void on_uplink(void* ctx, const fw_device*, std::uint64_t t, const char* recipient,
                          const char* format, const char* body, std::size_t len) {
        Uplink u{t, recipient, format, std::string(body, len), nullptr, false};
        u.json = nlohmann::json::parse(u.body, nullptr, /*allow_exceptions=*/false);
        u.parsed = !u.json.is_discarded();
        EXPECT_EQ(std::string(body).size(), len) << "body must be NUL-terminated at len";
        self(ctx)->uplinks.push_back(std::move(u));
    }
    static void on_truth(void* ctx, const fw_device*, std::uint64_t t, const char* s,
                         std::size_t len) {
        auto j = nlohmann::json::parse(std::string(s, len), nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << std::string(s, len);
        self(ctx)->truths.push_back({t, j});
    }
    static void on_log(void* ctx, const fw_device*, std::uint64_t, fw_log_level, const char* m,
                       std::size_t len) {
        self(ctx)->logs.emplace_back(m, len);
    }
    static void on_actuate(void* ctx, const fw_device*, std::uint64_t t, fw_actuator a,
                           std::int32_t v) {
        self(ctx)->actuations.push_back({t, a, v});
    }
    static std::size_t on_device_id(void* ctx, const fw_device*, char* buf, std::size_t cap) {
        const std::string& id = self(ctx)->id;
        const std::size_t n = id.size() < cap ? id.size() : cap;
        for (std::size_t i = 0; i < n; ++i) buf[i] = id[i];
        return n;
    }
    static fw_saf_ring* on_saf_ring(void* ctx, const fw_device*) {
        Harness* h = self(ctx);
        ++h->saf_ring_calls;
        return h->give_saf_ring ? &h->saf : nullptr;
    }
};

/// RFC 3339 string the device should put in bodies for a sample at device time `t` after a
/// boot at 0 with boot_epoch_ms = kEpoch.
inline std::string wall_at(std::uint64_t t) {
    char buf[40];
    fw_format_rfc3339(kEpoch + t, buf, sizeof buf);
    return buf;
}

/// Categories a decoded body carries, by the PROTOCOL §2 field names (independent of the
/// firmware's own tables, so a wrong field name fails the test).
std::vector<std::string> categories_in(const Uplink& u);

}  // namespace fwtest
