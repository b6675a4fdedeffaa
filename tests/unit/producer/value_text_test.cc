#include "producer/value_text.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/event/temporal.h"

namespace cdc::producer {
namespace {

using event::ColumnMeta;
using event::ColumnType;
using event::Value;

ColumnMeta Column(ColumnType type, int precision = 0, int scale = 0) {
  ColumnMeta column;
  column.name = "C";
  column.type = type;
  column.precision = precision;
  column.scale = scale;
  return column;
}

TEST(ValueText, IntegersAreExactAndRangeChecked) {
  EXPECT_EQ(ValueFromText(Column(ColumnType::kInt64), "9007199254740993"),
            Value(int64_t{9007199254740993}));
  EXPECT_EQ(ValueFromText(Column(ColumnType::kInt32), "-7"), Value(int64_t{-7}));
  EXPECT_THROW(ValueFromText(Column(ColumnType::kInt32), "4294967296"), PermanentError);
  EXPECT_THROW(ValueFromText(Column(ColumnType::kInt64), "12abc"), PermanentError);
}

TEST(ValueText, DecimalsKeepEveryDigit) {
  EXPECT_EQ(ValueFromText(Column(ColumnType::kDecimal, 38, 10),
                          "1234567890123456789012345678.0123456789"),
            Value(std::string("1234567890123456789012345678.0123456789")));
  EXPECT_EQ(ValueFromText(Column(ColumnType::kDecimal, 12, 2), "12.5"),
            Value(std::string("12.50")));
  EXPECT_EQ(ValueFromText(Column(ColumnType::kDecimal, 12, 2), "1.5e+3"),
            Value(std::string("1500.00")));
  EXPECT_THROW(ValueFromText(Column(ColumnType::kDecimal, 4, 2), "123.45"), PermanentError);
  EXPECT_EQ(ValueFromText(Column(ColumnType::kDecimalText), "-2.5E-2"),
            Value(std::string("-0.025")));
}

TEST(ValueText, ExpandExponent) {
  EXPECT_EQ(ExpandExponent("1.5e3"), "1500");
  EXPECT_EQ(ExpandExponent("12.34"), "12.34");
  EXPECT_EQ(ExpandExponent("1.23456789012346e+25"), "12345678901234600000000000");
  EXPECT_EQ(ExpandExponent("5e-3"), "0.005");
  EXPECT_THROW(ExpandExponent("abc"), PermanentError);
}

TEST(ValueText, BytesFromEveryDriversHex) {
  const Value expected(std::string("\x00\xff\x10", 3));
  EXPECT_EQ(ValueFromText(Column(ColumnType::kBytes), "X'00FF10'"), expected);  // sqliteodbc
  EXPECT_EQ(ValueFromText(Column(ColumnType::kBytes), "00ff10"), expected);     // psqlODBC
  EXPECT_EQ(ValueFromText(Column(ColumnType::kBytes), "\\x00ff10"), expected);
  EXPECT_THROW(ValueFromText(Column(ColumnType::kBytes), "0g"), PermanentError);
}

TEST(ValueText, TemporalValues) {
  EXPECT_EQ(ValueFromText(Column(ColumnType::kDate), "2026-01-02"),
            Value(int64_t{event::ParseDate("2026-01-02")}));
  EXPECT_EQ(ValueFromText(Column(ColumnType::kDate), "2026-01-02 00:00:00"),
            Value(int64_t{event::ParseDate("2026-01-02")}));
  EXPECT_EQ(ValueFromText(Column(ColumnType::kTimestamp), "2026-11-21 10:57:11.867"),
            Value(event::ParseTimestamp("2026-11-21T10:57:11.867")));
  // Without an offset a timestamptz is UTC (sessions run in UTC); with one it is honoured.
  EXPECT_EQ(ValueFromText(Column(ColumnType::kTimestampTz), "2026-11-21 10:00:00"),
            Value(event::ParseTimestampTz("2026-11-21T10:00:00Z")));
  EXPECT_EQ(ValueFromText(Column(ColumnType::kTimestampTz), "2026-11-21 12:00:00+02"),
            Value(event::ParseTimestampTz("2026-11-21T10:00:00Z")));
  EXPECT_THROW(ValueFromText(Column(ColumnType::kTimestamp), "yesterday"), PermanentError);
}

TEST(ValueText, BooleansUuidsAndText) {
  EXPECT_EQ(ValueFromText(Column(ColumnType::kBoolean), "1"), Value(true));
  EXPECT_EQ(ValueFromText(Column(ColumnType::kBoolean), "f"), Value(false));
  EXPECT_THROW(ValueFromText(Column(ColumnType::kBoolean), "maybe"), PermanentError);
  EXPECT_EQ(ValueFromText(Column(ColumnType::kUuid), "4ADFB0B7-F35D-4B44-976F-E7B461A58DDE"),
            Value(std::string("4adfb0b7-f35d-4b44-976f-e7b461a58dde")));
  EXPECT_EQ(ValueFromText(Column(ColumnType::kString), "héllo"), Value(std::string("héllo")));
  EXPECT_EQ(ValueFromText(Column(ColumnType::kFloat64), "1.5"), Value(1.5));
}

}  // namespace
}  // namespace cdc::producer
