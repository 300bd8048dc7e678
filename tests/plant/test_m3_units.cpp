// Unit tests of the Cortex-M3 board firmware's portable parts (firmware-stubs/m3/src): the
// Modbus RTU master and the board configuration text.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "m3/board.h"
#include "m3/modbus_master.h"

// ---- unit: the Modbus RTU master ------------------------------------------------------------

TEST(M3ModbusMaster, BuildsTheTextbookRequest) {
    mb_master m;
    mb_init(&m, 100);
    ASSERT_EQ(mb_read_registers(&m, 1, MB_FC_READ_HOLDING, 0, 10, 0), 8U);
    const std::uint8_t want[] = {0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD};
    EXPECT_EQ(std::memcmp(m.tx, want, 8), 0);
    EXPECT_EQ(mb_read_registers(&m, 1, MB_FC_READ_INPUT, 0, 0, 0), 0U);
    EXPECT_EQ(mb_read_registers(&m, 1, MB_FC_READ_INPUT, 0, MB_MAX_REGS + 1, 0), 0U);
    EXPECT_EQ(mb_read_registers(&m, 1, MB_FC_WRITE_COIL, 0, 1, 0), 0U);
    ASSERT_EQ(mb_write_coil(&m, 1, 0, true, 0), 8U);
    const std::uint8_t coil[] = {0x01, 0x05, 0x00, 0x00, 0xFF, 0x00, 0x8C, 0x3A};
    EXPECT_EQ(std::memcmp(m.tx, coil, 8), 0);
}

namespace {
std::vector<std::uint8_t> with_crc(std::vector<std::uint8_t> v) {
    const std::uint16_t crc = mb_crc16(v.data(), v.size());
    v.push_back(static_cast<std::uint8_t>(crc & 0xFF));
    v.push_back(static_cast<std::uint8_t>(crc >> 8));
    return v;
}
}  // namespace

TEST(M3ModbusMaster, ParsesAnswersByteByByteAfterLineNoise) {
    mb_master m;
    mb_init(&m, 100);
    mb_read_registers(&m, 1, MB_FC_READ_INPUT, 0, 2, 1000);
    const auto rsp = with_crc({0x01, 0x04, 0x04, 0x07, 0xD0, 0xFF, 0x38});
    const std::uint8_t noise[] = {0x00, 0x7F};
    EXPECT_EQ(mb_feed(&m, noise, 2), MB_PENDING);
    for (std::size_t i = 0; i + 1 < rsp.size(); ++i) EXPECT_EQ(mb_feed(&m, &rsp[i], 1), MB_PENDING);
    EXPECT_EQ(mb_feed(&m, &rsp.back(), 1), MB_DONE);
    EXPECT_EQ(m.regs[0], 2000);
    EXPECT_EQ(static_cast<std::int16_t>(m.regs[1]), -200);
    EXPECT_EQ(mb_poll(&m, 1001), MB_DONE);
    EXPECT_EQ(mb_poll(&m, 1002), MB_IDLE);
    EXPECT_EQ(m.n.skipped_bytes, 2U);
    EXPECT_EQ(m.n.ok, 1U);
}

TEST(M3ModbusMaster, ExceptionsTimeoutsAndBadCrc) {
    mb_master m;
    mb_init(&m, 100);
    mb_read_registers(&m, 1, MB_FC_READ_INPUT, 8, 2, 0);
    const auto exc = with_crc({0x01, 0x84, 0x02});
    EXPECT_EQ(mb_feed(&m, exc.data(), exc.size()), MB_EXCEPTION);
    EXPECT_EQ(m.exception, 2);
    EXPECT_EQ(mb_poll(&m, 1), MB_EXCEPTION);

    mb_write_coil(&m, 1, 0, true, 0);
    EXPECT_EQ(mb_poll(&m, 99), MB_PENDING);
    EXPECT_EQ(mb_poll(&m, 100), MB_TIMEOUT);
    EXPECT_EQ(m.n.timeouts, 1U);

    mb_write_coil(&m, 1, 0, true, 0);
    auto echo = with_crc({0x01, 0x05, 0x00, 0x00, 0xFF, 0x00});
    echo[7] ^= 0x55;
    EXPECT_EQ(mb_feed(&m, echo.data(), echo.size()), MB_BAD_CRC);
    EXPECT_EQ(mb_poll(&m, 1), MB_BAD_CRC);

    mb_write_coil(&m, 1, 0, true, 0);
    const auto wrong_echo = with_crc({0x01, 0x05, 0x00, 0x01, 0xFF, 0x00});  // another coil
    EXPECT_EQ(mb_feed(&m, wrong_echo.data(), wrong_echo.size()), MB_BAD_CRC);
    EXPECT_EQ(m.n.bad_crc, 2U);
}

// ---- unit: the configuration text ------------------------------------------------------------

namespace {
void noop_uplink(void*, const fw_device*, uint64_t, const char*, const char*, const char*, size_t) {}
const fw_hal kHal = {nullptr, noop_uplink, nullptr, nullptr, nullptr, nullptr, nullptr};
}  // namespace

TEST(M3BoardConfig, DefaultsWithoutText) {
    m3_board_config b;
    fw_config c;
    unsigned line = 99;
    EXPECT_EQ(m3_config_parse(nullptr, 0, &kHal, &b, &c, &line), nullptr);
    EXPECT_EQ(b.kind, FW_KIND_THERMOSTAT);
    EXPECT_EQ(std::string(b.id, b.id_len), "thermo-1");
    EXPECT_EQ(b.modbus_unit, 1);
    EXPECT_EQ(b.poll_ms, 1000U);
    EXPECT_TRUE(c.allow_time_scale);
    ASSERT_EQ(c.recipient_count, 2);
    EXPECT_STREQ(c.recipients[0].name, "voice-partner");
    EXPECT_EQ(c.recipients[0].format, FW_FMT_ALEXA);
    EXPECT_EQ(c.recipients[0].interaction_window_ms, 120000U);
    EXPECT_EQ(c.recipients[0].interaction_categories, FW_CATS_ALL);
    EXPECT_STREQ(c.recipients[1].name, "vendor-cloud");
    EXPECT_EQ(c.recipients[1].basis_at_boot, FW_CATS_ALL);
    EXPECT_TRUE(c.recipients[1].heartbeat);
}

TEST(M3BoardConfig, EveryKey) {
    const std::string text =
        "# a lock\r\n"
        "kind = lock\n"
        "id=lock-front\n"
        "profile=keepalive_leak\n"
        "seed=42\n"
        "epoch_ms=1767567600000\n"
        "time_scale=0\n"
        "modbus_unit=7\n"
        "poll_ms=250\n"
        "poll_min_ms=20\n"
        "modbus_timeout_ms=500\n"
        "recipient=insurer=google,basis=lock_state+door_state,unlinked,no-heartbeat\n"
        "set=auto_relock_ms=60000\n"
        "set=battery_drain_pct=0.05\n"
        "\n";
    m3_board_config b;
    fw_config c;
    unsigned line = 0;
    ASSERT_EQ(m3_config_parse(text.data(), text.size(), &kHal, &b, &c, &line), nullptr) << "line " << line;
    EXPECT_EQ(b.kind, FW_KIND_LOCK);
    EXPECT_EQ(std::string(b.id, b.id_len), "lock-front");
    EXPECT_EQ(c.profile_at_boot, FW_PROFILE_KEEPALIVE_LEAK);
    EXPECT_EQ(b.seed, 42U);
    EXPECT_EQ(c.boot_epoch_ms, 1767567600000ULL);
    EXPECT_FALSE(c.allow_time_scale);
    EXPECT_EQ(b.modbus_unit, 7);
    EXPECT_EQ(b.poll_ms, 250U);
    EXPECT_EQ(b.poll_min_ms, 20U);
    EXPECT_EQ(b.modbus_timeout_ms, 500U);
    ASSERT_EQ(c.recipient_count, 1);  // a recipient line replaces the defaults
    EXPECT_STREQ(c.recipients[0].name, "insurer");
    EXPECT_EQ(c.recipients[0].format, FW_FMT_GOOGLE);
    EXPECT_EQ(c.recipients[0].basis_at_boot, FW_CAT_BIT(FW_CAT_LOCK_STATE) | FW_CAT_BIT(FW_CAT_DOOR_STATE));
    EXPECT_FALSE(c.recipients[0].linked_at_boot);
    EXPECT_FALSE(c.recipients[0].heartbeat);
    EXPECT_EQ(c.auto_relock_ms, 60000U);
    EXPECT_EQ(c.battery_drain_centi_pct, 5);
}

TEST(M3BoardConfig, ErrorsNameTheLineAndFallBackToDefaults) {
    m3_board_config b;
    fw_config c;
    unsigned line = 0;
    const std::string bad_profile = "kind=lock\nprofile=sneaky\n";
    EXPECT_STREQ(m3_config_parse(bad_profile.data(), bad_profile.size(), &kHal, &b, &c, &line), "profile: unknown profile");
    EXPECT_EQ(line, 2U);
    EXPECT_EQ(b.kind, FW_KIND_LOCK);  // the kind was readable: the defaults are a lock's
    EXPECT_EQ(c.profile_at_boot, FW_PROFILE_COMPLIANT);
    const std::string cases[][2] = {
        {"colour=blue\n", "unknown key"},
        {"just words\n", "want key=value"},
        {"kind=toaster\n", "kind: thermostat or lock"},
        {"set=setpoint_c=21.555\n", "set: not a number"},
        {"set=min_on_ms=1.5\n", "set: this parameter wants a whole number >= 0"},
        {"set=warp=9\n", "set: unknown parameter"},
        {"recipient=x=carrier-pigeon\n", "recipient: unknown format"},
        {"recipient=x=json,basis=mood\n", "recipient: unknown category"},
        {"modbus_unit=0\n", "modbus_unit: 1…247"},
        {"id=0123456789012345678901234567890123\n", "id: 1 to 32 bytes"},
    };
    for (const auto& [text, why] : cases) {
        EXPECT_STREQ(m3_config_parse(text.data(), text.size(), &kHal, &b, &c, &line), why.c_str()) << text;
    }
    // fw_config_check refuses the whole (min_off_ms out of range): no line to blame.
    const std::string range = "set=min_off_ms=1000\n";
    EXPECT_NE(m3_config_parse(range.data(), range.size(), &kHal, &b, &c, &line), nullptr);
    EXPECT_EQ(line, 0U);
}

