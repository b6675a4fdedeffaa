#include "common/event/temporal.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace cdc::event {
namespace {

TEST(Temporal, DatesRoundTrip) {
  EXPECT_EQ(ParseDate("1970-01-01"), 0);
  EXPECT_EQ(ParseDate("1970-01-02"), 1);
  EXPECT_EQ(ParseDate("1969-12-31"), -1);
  EXPECT_EQ(ParseDate("2000-02-29"), 11016);
  EXPECT_EQ(ParseDate("0001-01-01"), -719162);
  EXPECT_EQ(FormatDate(ParseDate("9999-12-31")), "9999-12-31");
  for (int32_t days = -719162; days <= 2932896; days += 997) {  // 0001-01-01 .. 9999-12-31
    ASSERT_EQ(ParseDate(FormatDate(days)), days) << FormatDate(days);
  }
}

TEST(Temporal, TimestampsAreExactToTheMicrosecond) {
  EXPECT_EQ(ParseTimestamp("1970-01-01 00:00:00"), 0);
  EXPECT_EQ(ParseTimestamp("1970-01-01T00:00:01.5"), 1'500'000);
  EXPECT_EQ(ParseTimestamp("2026-11-21 08:26:41.123456"), 1795249601123456);
  EXPECT_EQ(ParseTimestamp("2026-11-21 08:26:41.123456000"), 1795249601123456);  // ns zeros ok
  EXPECT_EQ(ParseTimestamp("1969-12-31 23:59:59.999999"), -1);
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59.999999");
  EXPECT_EQ(FormatTimestamp(1795249601123456), "2026-11-21T08:26:41.123456");
  EXPECT_EQ(FormatTimestamp(1795249601000000), "2026-11-21T08:26:41");
  EXPECT_EQ(ParseTimestamp(FormatTimestamp(253402300799999999)), 253402300799999999);
}

TEST(Temporal, TimestampTzConvertsToUtc) {
  EXPECT_EQ(ParseTimestampTz("1970-01-01 02:00:00+02"), 0);
  EXPECT_EQ(ParseTimestampTz("1970-01-01 02:00:00+02:00"), 0);
  EXPECT_EQ(ParseTimestampTz("1970-01-01T02:00:00+0200"), 0);
  EXPECT_EQ(ParseTimestampTz("1969-12-31 19:30:00 -04:30"), 0);
  EXPECT_EQ(ParseTimestampTz("1970-01-01T00:00:00.000001Z"), 1);
  EXPECT_EQ(FormatTimestampTz(1), "1970-01-01T00:00:00.000001Z");
  EXPECT_EQ(ParseTimestampTz(FormatTimestampTz(1795249601123456)), 1795249601123456);
}

TEST(Temporal, RejectsMalformedAndLossyText) {
  for (const char* bad : {"", "2026-13-01", "2026-02-30", "2026-1-01", "20261121", "2026-11-21x",
                          "0000-00-00", "+2026-01-01", "-0043-03-15 BC", "0000-01-01 BC",
                          "infinity BC", "Infinity", "999999999-01-01"}) {
    EXPECT_THROW(ParseDate(bad), PermanentError) << bad;
  }
  for (const char* bad : {"2026-11-21", "2026-11-21 24:00:00", "2026-11-21 10:00",
                          "2026-11-21 10:00:00.", "2026-11-21 10:00:00.1234567",  // lossy ns
                          "2026-11-21 10:00:00+02", "2026-11-21 10:00:00.1234567890",
                          // beyond the microseconds' range: an error, never wrapped or clamped
                          "294247-01-11 04:00:54.775807", "294276-12-31 23:59:59.999999",
                          "300000-01-01 00:00:00 BC"}) {
    EXPECT_THROW(ParseTimestamp(bad), PermanentError) << bad;
  }
  for (const char* bad : {"2026-11-21 10:00:00", "2026-11-21 10:00:00+2", "2026-11-21 10:00:00+99",
                          "2026-11-21 10:00:00Zx"}) {
    EXPECT_THROW(ParseTimestampTz(bad), PermanentError) << bad;
  }
}

// PostgreSQL's whole range arrives exactly: BC years, years past 9999, and both infinities.
TEST(Temporal, ExtendedYearsAndInfinitiesRoundTrip) {
  EXPECT_EQ(ParseDate("infinity"), kDateInfinity);
  EXPECT_EQ(ParseDate("-infinity"), kDateMinusInfinity);
  EXPECT_EQ(FormatDate(kDateInfinity), "infinity");
  EXPECT_EQ(FormatDate(kDateMinusInfinity, TemporalStyle::kPostgres), "-infinity");
  EXPECT_EQ(ParseTimestamp("infinity"), kTimestampInfinity);
  EXPECT_EQ(ParseTimestampTz("-infinity"), kTimestampMinusInfinity);
  EXPECT_EQ(FormatTimestampTz(kTimestampInfinity), "infinity");

  const int32_t bc44 = ParseDate("0044-03-15 BC");  // PostgreSQL's rendering
  EXPECT_EQ(bc44, DaysFromCivil(-43, 3, 15));
  EXPECT_EQ(FormatDate(bc44), "-0043-03-15");
  EXPECT_EQ(ParseDate("-0043-03-15"), bc44);
  EXPECT_EQ(FormatDate(bc44, TemporalStyle::kPostgres), "0044-03-15 BC");
  EXPECT_EQ(FormatDate(DaysFromCivil(0, 1, 1)), "0000-01-01");
  EXPECT_EQ(FormatDate(DaysFromCivil(0, 1, 1), TemporalStyle::kPostgres), "0001-01-01 BC");
  EXPECT_EQ(ParseDate("4714-11-24 BC"), -2440588);    // PostgreSQL's first date (Julian day 0)
  EXPECT_EQ(ParseDate("5874897-12-31"), 2145042905);  // and its last
  EXPECT_EQ(FormatDate(2145042905), "+5874897-12-31");
  EXPECT_EQ(FormatDate(2145042905, TemporalStyle::kPostgres), "5874897-12-31");
  EXPECT_EQ(ParseDate("+5874897-12-31"), 2145042905);

  const int64_t ts = ParseTimestamp("0044-03-15 10:00:00.5 BC");
  EXPECT_EQ(FormatTimestamp(ts), "-0043-03-15T10:00:00.500000");
  EXPECT_EQ(FormatTimestamp(ts, TemporalStyle::kPostgres), "0044-03-15T10:00:00.500000 BC");
  EXPECT_EQ(ParseTimestamp(FormatTimestamp(ts)), ts);
  const int64_t tz = ParseTimestampTz("0044-03-15 10:00:00.5+00 BC");
  EXPECT_EQ(tz, ts);
  EXPECT_EQ(FormatTimestampTz(tz, TemporalStyle::kPostgres), "0044-03-15T10:00:00.500000Z BC");
  const int64_t late = ParseTimestampTz("12026-01-01 00:00:00+05");
  EXPECT_EQ(FormatTimestampTz(late), "+12025-12-31T19:00:00Z");
  EXPECT_EQ(ParseTimestampTz(FormatTimestampTz(late)), late);
  // The last microsecond the numbers hold, and PostgreSQL's first timestamp.
  EXPECT_EQ(ParseTimestamp("294247-01-10 04:00:54.775806"), kTimestampInfinity - 1);
  EXPECT_EQ(FormatTimestamp(kTimestampInfinity - 1), "+294247-01-10T04:00:54.775806");
  EXPECT_EQ(ParseTimestamp("4714-11-24 00:00:00 BC"), -2440588LL * 86'400'000'000LL);
}

}  // namespace
}  // namespace cdc::event
