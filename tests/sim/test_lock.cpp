// GIVEN/WHEN/THEN tests of the lock plant (sim/lock.hpp): motor timing, battery drain, door
// contact and the door-usage process.
#include "sim/lock.hpp"

#include <gtest/gtest.h>

using namespace consentrig::sim;

namespace {
constexpr TimeMs kMonday = 1767571200000;  // 2026-01-05T00:00:00Z, a Monday
}

TEST(Lock, GivenLockedBolt_WhenUnlockCommanded_ThenMovesForActuationTimeAndDrainsBattery) {
    const LockParams params;  // 2 s, 0.02 % per actuation
    LockState lock;
    ASSERT_EQ(lock.bolt, Bolt::locked);
    const auto done = actuate(lock, params, kMonday, false);
    ASSERT_TRUE(done.has_value());
    EXPECT_EQ(*done, kMonday + 2 * kMsPerSecond);
    EXPECT_EQ(bolt_at(lock, kMonday + 1999), Bolt::unlocking);
    EXPECT_EQ(bolt_at(lock, kMonday + 2000), Bolt::unlocked);
    EXPECT_NEAR(lock.battery_pct, 100.0 - 0.02, 1e-4);
    settle(lock, kMonday + 5000);
    EXPECT_EQ(lock.bolt, Bolt::unlocked);
}

TEST(Lock, GivenBoltAlreadyThere_WhenCommanded_ThenNoMotorRunAndNoDrain) {
    const LockParams params;
    LockState lock;
    EXPECT_EQ(actuate(lock, params, kMonday, true), kMonday);
    EXPECT_EQ(lock.battery_pct, 100.0F);
    // A repeated command while moving the same way keeps the original finish time.
    ASSERT_TRUE(actuate(lock, params, kMonday, false));
    EXPECT_EQ(actuate(lock, params, kMonday + 500, false), kMonday + 2000);
    EXPECT_NEAR(lock.battery_pct, 100.0 - 0.02, 1e-4);
}

TEST(Lock, GivenMovingBolt_WhenReversed_ThenFullActuationFromNow) {
    const LockParams params;
    LockState lock;
    ASSERT_TRUE(actuate(lock, params, kMonday, false));
    EXPECT_EQ(actuate(lock, params, kMonday + 500, true), kMonday + 2500);
    EXPECT_EQ(bolt_at(lock, kMonday + 2499), Bolt::locking);
    EXPECT_EQ(bolt_at(lock, kMonday + 2500), Bolt::locked);
}

TEST(Lock, Given5000Actuations_WhenRun_ThenBatteryEmptyAndMotorRefuses) {
    const LockParams params;
    LockState lock;
    TimeMs t = kMonday;
    int runs = 0;
    while (actuate(lock, params, t, lock.bolt != Bolt::locked)) {
        t += 10 * kMsPerSecond;
        settle(lock, t);
        ++runs;
        ASSERT_LT(runs, 10000);
    }
    // 100 % / 0.02 % = 5,000 runs (±1 for float accumulation of the drain).
    EXPECT_NEAR(runs, 5000, 1);
    EXPECT_LT(lock.battery_pct, 0.02F);
    const Bolt before = lock.bolt;
    EXPECT_FALSE(actuate(lock, params, t, before != Bolt::locked).has_value());
    EXPECT_EQ(lock.bolt, before);
}

TEST(Lock, GivenDoorContact_WhenOpenedAndClosed_ThenStateFollows) {
    LockState lock;
    EXPECT_EQ(lock.door, Door::closed);
    open_door(lock);
    EXPECT_EQ(lock.door, Door::open);
    close_door(lock);
    EXPECT_EQ(lock.door, Door::closed);
}

TEST(Lock, GivenOccupiedHome_WhenDoorUsageSampled_ThenRateMatchesAndAwayNeverOpens) {
    const LockParams params;  // 0.6 per hour at home, 0 away
    Rng rng(21, "lock-1", "door");
    constexpr int kN = 20000;
    TimeMs t = kMonday;
    for (int i = 0; i < kN; ++i) {
        const auto next = next_door_open(rng, params, t, true);
        ASSERT_TRUE(next.has_value());
        ASSERT_GT(*next, t);
        t = *next;
    }
    const double per_hour = kN / (static_cast<double>(t - kMonday) / kMsPerHour);
    EXPECT_NEAR(per_hour, 0.6, 0.6 * 0.035);  // 20,000 events: relative s.e. 0.7 %; tolerance 5 s.e.
    EXPECT_FALSE(next_door_open(rng, params, kMonday, false).has_value());
}

TEST(Lock, GivenOccupancySchedule_WhenDoorUsageFollowsIt_ThenNoOpeningWhileAwayAndRateAtHome) {
    const LockParams params;
    OccupancyParams occ;
    occ.household_jitter_sigma_ms = 0;
    occ.daily_jitter_sigma_ms = 0;
    Rng setup(22, "lock-2", "occupancy");
    const OccupancySchedule schedule = make_occupancy(occ, setup);
    Rng rng(22, "lock-2", "door");
    const DurationMs utc_offset = 1 * kMsPerHour;
    int at_home = 0;
    TimeMs t = kMonday;
    const TimeMs end = kMonday + 28 * kMsPerDay;
    while (auto next = next_door_open(rng, params, schedule, occ, t, utc_offset, end - t)) {
        ASSERT_GT(*next, t);
        ASSERT_TRUE(occupied_at(schedule, occ, *next + utc_offset)) << *next;
        ++at_home;
        t = *next;
    }
    // Occupied time in 4 weeks: 20 weekdays × 14.5 h + 8 weekend days × 24 h = 482 h → 289 openings
    // expected (Poisson σ ≈ 17); tolerance 85 = 5σ.
    EXPECT_NEAR(at_home, 289, 85);
}

TEST(Lock, GivenParams_WhenValidated_ThenDefaultsOkAndNonsenseRejected) {
    EXPECT_TRUE(validate(LockParams{}).ok());
    LockParams p;
    p.actuation_ms = -1;
    EXPECT_FALSE(validate(p).ok());
    p = {};
    p.battery_pct_per_actuation = 150;
    EXPECT_FALSE(validate(p).ok());
    p = {};
    p.door_opens_per_h_occupied = -0.1;
    EXPECT_FALSE(validate(p).ok());
}
