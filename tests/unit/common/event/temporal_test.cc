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
  for (const char* bad :
       {"", "2026-13-01", "2026-02-30", "2026-1-01", "20261121", "2026-11-21x", "0000-01-01"}) {
    EXPECT_THROW(ParseDate(bad), PermanentError) << bad;
  }
  for (const char* bad : {"2026-11-21", "2026-11-21 24:00:00", "2026-11-21 10:00",
                          "2026-11-21 10:00:00.", "2026-11-21 10:00:00.1234567",  // lossy ns
                          "2026-11-21 10:00:00+02", "2026-11-21 10:00:00.1234567890"}) {
    EXPECT_THROW(ParseTimestamp(bad), PermanentError) << bad;
  }
  for (const char* bad : {"2026-11-21 10:00:00", "2026-11-21 10:00:00+2", "2026-11-21 10:00:00+99",
                          "2026-11-21 10:00:00Zx"}) {
    EXPECT_THROW(ParseTimestampTz(bad), PermanentError) << bad;
  }
}

}  // namespace
}  // namespace cdc::event
