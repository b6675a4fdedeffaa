// Column values: kinds from catalog types, filter values parsed per kind, result text as JSON.
#include "api/values.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace cdc::api {
namespace {

TEST(KindOfType, MapsTheTypesTheConsumerCreates) {
  EXPECT_EQ(KindOfType("bigint"), ValueKind::kInteger);
  EXPECT_EQ(KindOfType("integer"), ValueKind::kInteger);
  EXPECT_EQ(KindOfType("numeric(12,2)"), ValueKind::kDecimal);
  EXPECT_EQ(KindOfType("double precision"), ValueKind::kFloat);
  EXPECT_EQ(KindOfType("character varying(40)"), ValueKind::kText);
  EXPECT_EQ(KindOfType("character(1)"), ValueKind::kText);
  EXPECT_EQ(KindOfType("bytea"), ValueKind::kBytes);
  EXPECT_EQ(KindOfType("timestamp without time zone"), ValueKind::kTimestamp);
  EXPECT_EQ(KindOfType("timestamp(3) with time zone"), ValueKind::kTimestampTz);
  EXPECT_EQ(KindOfType("date"), ValueKind::kDate);
  EXPECT_EQ(KindOfType("uuid"), ValueKind::kUuid);
  EXPECT_EQ(KindOfType("interval"), ValueKind::kOther);
}

TEST(ParseValue, AcceptsWhatTheColumnHoldsAndNothingElse) {
  EXPECT_EQ(ParseValue(ValueKind::kInteger, "-42"), "-42");
  EXPECT_EQ(ParseValue(ValueKind::kInteger, "42x"), std::nullopt);
  EXPECT_EQ(ParseValue(ValueKind::kInteger, "99999999999999999999"), std::nullopt);
  EXPECT_EQ(ParseValue(ValueKind::kInteger, "1; DROP TABLE x"), std::nullopt);
  EXPECT_EQ(ParseValue(ValueKind::kDecimal, "12.50"), "12.50");
  EXPECT_EQ(ParseValue(ValueKind::kDecimal, "1e5"), std::nullopt);
  EXPECT_EQ(ParseValue(ValueKind::kDecimal, "."), std::nullopt);
  EXPECT_EQ(ParseValue(ValueKind::kFloat, "1.5e3"), "1.5e3");
  EXPECT_EQ(ParseValue(ValueKind::kFloat, "NaN"), "NaN");
  EXPECT_EQ(ParseValue(ValueKind::kFloat, "abc"), std::nullopt);
  EXPECT_EQ(ParseValue(ValueKind::kBoolean, "t"), "true");
  EXPECT_EQ(ParseValue(ValueKind::kBoolean, "0"), "false");
  EXPECT_EQ(ParseValue(ValueKind::kBoolean, "yes"), std::nullopt);
  EXPECT_EQ(ParseValue(ValueKind::kDate, "2026-11-30"), "2026-11-30");
  EXPECT_EQ(ParseValue(ValueKind::kDate, "2026-13-01"), std::nullopt);
  EXPECT_EQ(ParseValue(ValueKind::kTimestamp, "2026-11-30T10:00:00.5"), "2026-11-30T10:00:00.5");
  EXPECT_EQ(ParseValue(ValueKind::kTimestamp, "2026-11-30T10:00:00Z"), std::nullopt);
  EXPECT_EQ(ParseValue(ValueKind::kTimestampTz, "2026-11-30T10:00:00"), "2026-11-30T10:00:00+00");
  EXPECT_EQ(ParseValue(ValueKind::kTimestampTz, "2026-11-30 10:00:00+02:00"),
            "2026-11-30 10:00:00+02:00");
  EXPECT_EQ(ParseValue(ValueKind::kTimestampTz, "2026-11-30T25:00:00Z"), std::nullopt);
  EXPECT_EQ(ParseValue(ValueKind::kUuid, "123e4567-e89b-12d3-a456-426614174000"),
            "123e4567-e89b-12d3-a456-426614174000");
  EXPECT_EQ(ParseValue(ValueKind::kUuid, "123e4567"), std::nullopt);
  EXPECT_EQ(ParseValue(ValueKind::kBytes, "AP8Q"), "\\x00ff10");
  EXPECT_EQ(ParseValue(ValueKind::kBytes, "!!"), std::nullopt);
  EXPECT_EQ(ParseValue(ValueKind::kText, "ünï,/%"), "ünï,/%");
  EXPECT_EQ(ParseValue(ValueKind::kText, std::string("a\0b", 3)), std::nullopt);
  EXPECT_EQ(ParseValue(ValueKind::kText, "\xff"), std::nullopt);
}

TEST(ToJson, KeepsDecimalsExactAndFormatsTimes) {
  EXPECT_EQ(ToJson(ValueKind::kInteger, "-7"), nlohmann::json(-7));
  EXPECT_EQ(ToJson(ValueKind::kDecimal, "12345678901234567890.12"),
            nlohmann::json("12345678901234567890.12"));
  EXPECT_EQ(ToJson(ValueKind::kFloat, "0.1"), nlohmann::json(0.1));
  EXPECT_EQ(ToJson(ValueKind::kFloat, "NaN"), nlohmann::json("NaN"));
  EXPECT_EQ(ToJson(ValueKind::kBoolean, "t"), nlohmann::json(true));
  EXPECT_EQ(ToJson(ValueKind::kBytes, "\\x00ff10"), nlohmann::json("AP8Q"));
  EXPECT_EQ(ToJson(ValueKind::kTimestamp, "2026-11-30 10:00:00.123"),
            nlohmann::json("2026-11-30T10:00:00.123"));
  EXPECT_EQ(ToJson(ValueKind::kTimestampTz, "2026-11-30 10:00:00+00"),
            nlohmann::json("2026-11-30T10:00:00Z"));
}

// AppendJson writes pages without building json values: it must write what dumping ToJson's
// value writes, for every kind, odd values included.
TEST(AppendJson, WritesWhatDumpingToJsonWrites) {
  const std::vector<std::pair<ValueKind, std::string>> cases = {
      {ValueKind::kInteger, "-7"},
      {ValueKind::kInteger, "9223372036854775807"},
      {ValueKind::kInteger, "99999999999999999999"},  // not an int64: a string
      {ValueKind::kDecimal, "12345678901234567890.12"},
      {ValueKind::kFloat, "0.1"},
      {ValueKind::kFloat, "-1.5e+300"},
      {ValueKind::kFloat, "NaN"},
      {ValueKind::kFloat, "-Infinity"},
      {ValueKind::kBoolean, "t"},
      {ValueKind::kBoolean, "f"},
      {ValueKind::kBytes, "\\x00ff10"},
      {ValueKind::kText, "quote \" backslash \\ newline \n tab \t bell \x07 \xc3\xa9"},
      {ValueKind::kText, std::string("invalid \xff\xfe utf-8")},
      {ValueKind::kDate, "2026-11-30"},
      {ValueKind::kTimestamp, "2026-11-30 10:00:00.123"},
      {ValueKind::kTimestampTz, "2026-11-30 10:00:00+00"},
      {ValueKind::kTimestampTz, "2026-11-30 10:00:00+05:30"},
      {ValueKind::kUuid, "0f8fad5b-d9cb-469f-a165-70867728950e"},
      {ValueKind::kOther, "{1,2}"},
  };
  for (const auto& [kind, text] : cases) {
    std::string out = "[";
    AppendJson(out, kind, text);
    out += "]";
    const std::string expected =
        "[" + ToJson(kind, text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
        "]";
    EXPECT_EQ(out, expected) << text;
  }
}

TEST(CastParam, CastsToTheComparisonType) {
  EXPECT_EQ(CastParam(ValueKind::kInteger, 3), "$3::bigint");
  EXPECT_EQ(CastParam(ValueKind::kTimestampTz, 1), "$1::timestamptz");
  EXPECT_EQ(CompareColumn(ValueKind::kOther, "\"d\""), "\"d\"::text");
  EXPECT_EQ(CompareColumn(ValueKind::kText, "\"d\""), "\"d\"");
}

}  // namespace
}  // namespace cdc::api
