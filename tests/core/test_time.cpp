#include "core/time.hpp"

#include <gtest/gtest.h>

using namespace consentrig::core;

TEST(Rfc3339, GivenUtcWithMillis_WhenParsed_ThenRoundTrips) {
    const auto t = parse_rfc3339("2026-01-05T03:12:09.120Z");
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(*t, 1767582729120);
    EXPECT_EQ(format_rfc3339(*t), "2026-01-05T03:12:09.120Z");
}

TEST(Rfc3339, GivenOffset_WhenParsed_ThenConvertedToUtc) {
    EXPECT_EQ(parse_rfc3339("2026-01-05T04:12:09+01:00"), parse_rfc3339("2026-01-05T03:12:09.000Z"));
    EXPECT_EQ(parse_rfc3339("2026-01-05T03:12:09.1234567Z"), parse_rfc3339("2026-01-05T03:12:09.123Z"));
}

TEST(Rfc3339, GivenMalformed_WhenParsed_ThenNullopt) {
    for (const char* bad : {"", "2026-01-05", "2026-02-30T00:00:00Z", "2026-01-05T25:00:00Z",
                            "2026-01-05T03:12:09", "2026-01-05T03:12:09.Z", "2026-01-05T03:12:09Zjunk",
                            "yesterday"}) {
        EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
    }
}

TEST(Rfc3339, GivenBeforeEpoch_WhenFormatted_ThenCorrect) {
    EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
}

TEST(Duration, GivenUnits_WhenParsed_ThenMilliseconds) {
    EXPECT_EQ(parse_duration("120s"), 120000);
    EXPECT_EQ(parse_duration("120"), 120000);
    EXPECT_EQ(parse_duration("500ms"), 500);
    EXPECT_EQ(parse_duration("90m"), 90 * 60000);
    EXPECT_EQ(parse_duration("30h"), 30 * 3600000LL);
    EXPECT_EQ(parse_duration("1.5h"), 5400000);
    EXPECT_EQ(parse_duration("2d"), 2 * 86400000LL);
    EXPECT_FALSE(parse_duration("-5s").has_value());
    EXPECT_FALSE(parse_duration("5 parsecs").has_value());
    EXPECT_FALSE(parse_duration("").has_value());
}
