// GIVEN/WHEN/THEN tests of the occupancy schedule (sim/occupancy.hpp): weekday/weekend pattern,
// per-household and daily jitter, and next_change consistent with occupied_at.
#include "sim/occupancy.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace consentrig::sim;

namespace {
constexpr TimeMs kMondayLocal = 1767571200000;  // 2026-01-05T00:00 local, a Monday
TimeMs at(int day, int hour, int minute = 0) {
    return kMondayLocal + day * kMsPerDay + hour * kMsPerHour + minute * kMsPerMinute;
}
OccupancyParams no_jitter() {
    OccupancyParams p;
    p.household_jitter_sigma_ms = 0;
    p.daily_jitter_sigma_ms = 0;
    return p;
}
}  // namespace

TEST(Occupancy, GivenEpochArithmetic_WhenWeekdayAsked_ThenMondayIsMonday) {
    EXPECT_EQ(weekday(kMondayLocal), Weekday::mon);
    EXPECT_EQ(weekday(at(5, 12)), Weekday::sat);
    EXPECT_EQ(weekday(0), Weekday::thu);           // 1970-01-01
    EXPECT_EQ(weekday(-1), Weekday::wed);          // 1969-12-31 23:59:59.999
}

TEST(Occupancy, GivenDefaultsWithoutJitter_WhenAsked_ThenAwayWeekdays0800To1730AndHomeAtWeekends) {
    const OccupancyParams p = no_jitter();
    ASSERT_TRUE(validate(p).ok());
    Rng rng(31, "home-1", "occupancy");
    const OccupancySchedule s = make_occupancy(p, rng);
    for (int day = 0; day < 5; ++day) {  // Monday–Friday
        EXPECT_TRUE(occupied_at(s, p, at(day, 7, 59))) << day;
        EXPECT_FALSE(occupied_at(s, p, at(day, 8, 0))) << day;
        EXPECT_FALSE(occupied_at(s, p, at(day, 17, 29))) << day;
        EXPECT_TRUE(occupied_at(s, p, at(day, 17, 30))) << day;
        EXPECT_TRUE(occupied_at(s, p, at(day, 23, 0))) << day;
    }
    for (int day = 5; day < 7; ++day)  // weekend
        for (int hour = 0; hour < 24; ++hour) EXPECT_TRUE(occupied_at(s, p, at(day, hour))) << day << " " << hour;
    EXPECT_EQ(next_change(s, p, at(0, 6)), at(0, 8));
    EXPECT_EQ(next_change(s, p, at(0, 8)), at(0, 17, 30));  // strictly after
    EXPECT_EQ(next_change(s, p, at(4, 18)), at(7, 8));       // Friday evening → next Monday 08:00
}

TEST(Occupancy, GivenNoAwayDays_WhenNextChangeAsked_ThenNever) {
    OccupancyParams p = no_jitter();
    p.away_days = 0;
    Rng rng(32);
    const OccupancySchedule s = make_occupancy(p, rng);
    EXPECT_TRUE(occupied_at(s, p, at(2, 12)));
    EXPECT_FALSE(next_change(s, p, at(0, 0)).has_value());
}

TEST(Occupancy, GivenJitter_WhenManyHouseholds_ThenLeaveTimesSpreadAroundDefault) {
    const OccupancyParams p;  // household σ 30 min, daily σ 15 min → total σ ≈ 33.5 min
    constexpr int kHouseholds = 4000;
    double sum = 0;
    double sum_sq = 0;
    for (int i = 0; i < kHouseholds; ++i) {
        Rng rng(33, "home-" + std::to_string(i), "occupancy");
        const OccupancySchedule s = make_occupancy(p, rng);
        const auto w = away_window(s, p, local_day(at(1, 0)));
        ASSERT_TRUE(w.has_value());
        ASSERT_LT(w->from_local_ms, w->to_local_ms);
        const double leave_min = static_cast<double>(time_of_day(w->from_local_ms)) / kMsPerMinute;
        sum += leave_min;
        sum_sq += leave_min * leave_min;
    }
    const double mean = sum / kHouseholds;
    const double sd = std::sqrt(sum_sq / kHouseholds - mean * mean);
    EXPECT_NEAR(mean, 8 * 60, 3.0);           // s.e. 0.53 min; tolerance ≈ 5.5 s.e.
    EXPECT_NEAR(sd, std::hypot(30.0, 15.0), 3.0);  // 33.5 min; clipping at 3σ trims it slightly
}

TEST(Occupancy, GivenOneHousehold_WhenDaysCompared_ThenDailyJitterVariesButIsRepeatable) {
    const OccupancyParams p;
    Rng rng(34, "home-x", "occupancy");
    const OccupancySchedule s = make_occupancy(p, rng);
    const auto monday = away_window(s, p, local_day(at(0, 0)));
    const auto tuesday = away_window(s, p, local_day(at(1, 0)));
    ASSERT_TRUE(monday && tuesday);
    EXPECT_NE(time_of_day(monday->from_local_ms), time_of_day(tuesday->from_local_ms));
    const auto monday_again = away_window(s, p, local_day(at(0, 0)));
    EXPECT_EQ(monday->from_local_ms, monday_again->from_local_ms);
    EXPECT_EQ(monday->to_local_ms, monday_again->to_local_ms);
}

TEST(Occupancy, GivenJitteredSchedule_WhenWalkedByNextChange_ThenEveryChangeFlipsOccupancy) {
    const OccupancyParams p;
    Rng rng(35, "home-y", "occupancy");
    const OccupancySchedule s = make_occupancy(p, rng);
    TimeMs t = at(0, 0);
    bool occupied = occupied_at(s, p, t);
    int changes = 0;
    while (auto next = next_change(s, p, t)) {
        if (*next > at(14, 0)) break;
        EXPECT_EQ(occupied_at(s, p, *next - 1), occupied);  // unchanged up to just before
        EXPECT_NE(occupied_at(s, p, *next), occupied);      // flipped at the change
        occupied = !occupied;
        t = *next;
        ++changes;
    }
    EXPECT_EQ(changes, 20);  // two weeks × five weekdays × (leave, return)
}

TEST(Occupancy, GivenJitteredSchedule_WhenOccupancyAtAsked_ThenItAgreesWithOccupiedAtAndNextChange) {
    const OccupancyParams p;
    Rng rng(36, "home-z", "occupancy");
    const OccupancySchedule s = make_occupancy(p, rng);
    // every 7 min 13 s for two weeks, and both sides of every change
    std::vector<TimeMs> instants;
    for (TimeMs t = at(0, 0); t < at(14, 0); t += 7 * kMsPerMinute + 13 * kMsPerSecond) instants.push_back(t);
    TimeMs t = at(0, 0);
    while (auto next = next_change(s, p, t)) {
        if (*next > at(14, 0)) break;
        instants.insert(instants.end(), {*next - 1, *next, *next + 1});
        t = *next;
    }
    ASSERT_GT(instants.size(), 2 * 7 * 24 * 8u);
    for (const TimeMs i : instants) {
        const OccupancyAt o = occupancy_at(s, p, i);
        EXPECT_EQ(o.occupied, occupied_at(s, p, i)) << i;
        EXPECT_EQ(o.next_change_local_ms, next_change(s, p, i)) << i;
    }
    // GIVEN no away days: home throughout, never a change
    OccupancyParams home = p;
    home.away_days = 0;
    const OccupancyAt o = occupancy_at(s, home, at(2, 12));
    EXPECT_TRUE(o.occupied);
    EXPECT_FALSE(o.next_change_local_ms.has_value());
}

TEST(Occupancy, GivenParams_WhenValidated_ThenReturnBeforeLeaveAndHugeSigmaRejected) {
    OccupancyParams p;
    p.return_local_ms = 7 * kMsPerHour;  // before leaving at 08:00
    EXPECT_FALSE(validate(p).ok());
    p = {};
    p.household_jitter_sigma_ms = 5 * kMsPerHour;
    EXPECT_FALSE(validate(p).ok());
    p = {};
    p.leave_local_ms = kMsPerDay;
    EXPECT_FALSE(validate(p).ok());
}
