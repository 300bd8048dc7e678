// rig::m3_setup: one board's host-stub arguments become the Cortex-M3 image's configuration text
// and the plant it is closed against — the mapping the bench and the GUI share.
#include <gtest/gtest.h>

#include "rig/qemu.hpp"

namespace consentrig::rig {
namespace {

TEST(M3Setup, StubArgumentsBecomeConfigurationLinesAndThePlant) {
    // GIVEN a thermostat's host-stub arguments, with a seed above 32 bits, a partner, one
    // firmware parameter and one describing the house
    const std::vector<std::string> args{"--kind", "thermostat", "--profile", "flush_after_revoke", "--id", "thermo-7",
                                        "--seed", "4294967301", "--recipient", "vendor-cloud=json",
                                        "--set", "flush_delay_ms=5000", "--set", "room_initial_c=18.5"};
    // WHEN they are mapped for a board without a humidity sensor
    auto m = m3_setup(args, {"written by a test", false});
    ASSERT_TRUE(m) << m.error().message;
    // THEN the text has a line per firmware setting (the seed's low 32 bits), in order
    EXPECT_EQ(m->config,
              "# written by a test\nhumidity_sensor=0\nkind=thermostat\nprofile=flush_after_revoke\nid=thermo-7\nseed=5\n"
              "recipient=vendor-cloud=json\nset=flush_delay_ms=5000\n");
    // and the house's parameter, the whole seed and the device id go to the plant (exact)
    EXPECT_EQ(m->plant.initial_temperature_c, 18.5);
    EXPECT_EQ(m->plant.seed, 4294967301ULL);
    EXPECT_EQ(m->plant.device_id, "thermo-7");
}

TEST(M3Setup, WithoutAnIdThePlantIsNamedByKindAndHumidityIsFitted) {
    auto m = m3_setup({"--kind", "lock", "--profile", "compliant"}, {"consentrig-gui", true});
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->config, "# consentrig-gui\nkind=lock\nprofile=compliant\n");
    EXPECT_EQ(m->plant.device_id, "lock");
}

TEST(M3Setup, AnArgumentTheBoardCannotTakeIsNamed) {
    // GIVEN an argument only the host stub knows, a value missing, a seed that is no number
    auto unknown = m3_setup({"--kind", "lock", "--log-level", "debug"}, {"t", true});
    auto missing = m3_setup({"--kind", "lock", "--set"}, {"t", true});
    auto seed = m3_setup({"--seed", "12x"}, {"t", true});
    // THEN each is refused, naming it
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().message.find("'--log-level'"), std::string::npos) << unknown.error().message;
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("'--set'"), std::string::npos) << missing.error().message;
    ASSERT_FALSE(seed);
    EXPECT_NE(seed.error().message.find("--seed 12x"), std::string::npos) << seed.error().message;
}

}  // namespace
}  // namespace consentrig::rig
