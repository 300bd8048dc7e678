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

TEST(Rfc3339, GivenTimesAcrossTheCalendar_WhenFormatted_ThenParseBackToTheSameMillisecond) {
    // GIVEN instants from 0001 to 9999, leap days, month and year ends, every millisecond digit
    for (const char* text : {"0001-01-01T00:00:00.000Z", "1970-01-01T00:00:00.000Z", "2024-02-29T23:59:59.999Z",
                             "2026-12-31T23:59:59.001Z", "2000-03-01T12:34:56.780Z", "9999-12-31T23:59:59.999Z"}) {
        const auto t = parse_rfc3339(text);
        ASSERT_TRUE(t.has_value()) << text;
        // WHEN formatted THEN the text is exactly the canonical form
        EXPECT_EQ(format_rfc3339(*t), text);
    }
    // AND outside 0000–9999 the formatter still writes a signed or wider year
    EXPECT_EQ(format_rfc3339(253402300800000), "10000-01-01T00:00:00.000Z");
    for (TimeMs t = 1767582729000; t < 1767582729000 + 2000; t += 7) EXPECT_EQ(parse_rfc3339(format_rfc3339(t)), t);
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
