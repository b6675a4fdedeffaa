#include "common/json/codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "tests/unit/common/avro/test_tables.h"

namespace cdc::json {
namespace {

using cdc::testing::AllTypesTable;
using cdc::testing::UpdateEvent;
using ::testing::HasSubstr;

TEST(JsonCodec, EnvelopeRoundTripsEveryColumnType) {
  const event::TableMeta table = AllTypesTable();
  const event::ChangeEvent original = UpdateEvent(table, 7);
  EXPECT_EQ(DecodeEnvelope(table, EncodeEnvelope(table, original)), original);
}

TEST(JsonCodec, ProducesTheDocumentedShape) {
  const event::TableMeta table = AllTypesTable();
  const nlohmann::json message =
      nlohmann::json::parse(EncodeEnvelope(table, UpdateEvent(table, 7)));
  const nlohmann::json& after = message["after"];
  EXPECT_EQ(after["ID"], 7);
  EXPECT_EQ(after["SMALL"], -32768);
  EXPECT_EQ(after["PRICE"], "-123.45");
  EXPECT_EQ(after["BIG_DEC"], "1234567890123456789012345678.9012345678");
  EXPECT_EQ(after["FREE_NUMBER"], "-0.000001");
  EXPECT_EQ(after["RATIO"], 0.5);
  EXPECT_EQ(after["SCORE"], -1.25e300);
  EXPECT_EQ(after["NAME"], "größe 日本 ✓");
  EXPECT_EQ(after["NOTE#1"], "line1\nline2 \"quoted\" \\ back");  // source names as keys
  EXPECT_EQ(after["BLOB"], "AAH//g==");
  EXPECT_EQ(after["BORN"], "2025-11-21");
  EXPECT_EQ(after["CREATED"], "2026-11-21T08:26:41.123456");
  EXPECT_EQ(after["UPDATED_TZ"], "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(after["ACTIVE"], true);
  EXPECT_EQ(after["TOKEN"], "123e4567-e89b-12d3-a456-426614174000");
  EXPECT_EQ(message["before"]["NAME"], "old name");
  EXPECT_EQ(message["source"]["seq"], 42);
  EXPECT_EQ(message["source"]["change_ts"], "2026-11-21T08:26:41Z");
  EXPECT_EQ(message["source"]["txid"], "tx-7");
  EXPECT_EQ(message["source"]["snapshot"], false);
  EXPECT_EQ(message["op"], "u");
  EXPECT_EQ(message["ts_ms"], 1795249601999);
  EXPECT_EQ(EncodeKey(table, {int64_t{7}}), R"({"ID":7})");
}

TEST(JsonCodec, NonFiniteFloatsAndNullsRoundTrip) {
  event::TableMeta table = AllTypesTable();
  event::ChangeEvent e = UpdateEvent(table, 1);
  (*e.after)[6] = std::numeric_limits<double>::infinity();
  (*e.before)[6] = -std::numeric_limits<double>::infinity();
  (*e.after)[5] = std::numeric_limits<double>::quiet_NaN();
  (*e.before)[5] = std::monostate{};
  const event::ChangeEvent back = DecodeEnvelope(table, EncodeEnvelope(table, e));
  EXPECT_TRUE(std::isnan(std::get<double>((*back.after)[5])));
  EXPECT_EQ(std::get<double>((*back.after)[6]), std::numeric_limits<double>::infinity());
  EXPECT_EQ(std::get<double>((*back.before)[6]), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(event::IsNull((*back.before)[5]));
}

TEST(JsonCodec, KeyRoundTrips) {
  event::TableMeta table = AllTypesTable();
  table.key = {7, 0};
  const event::Row key = {std::string("k\"1"), int64_t{-5}};
  EXPECT_EQ(DecodeKey(table, EncodeKey(table, key)), key);
}

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    EXPECT_EQ(Base64Decode(encoded), plain);
  }
  for (const char* bad : {"Zg=", "Z===", "Zm9v!A==", "Zg==Zg==", "=Zg="}) {
    EXPECT_THROW(Base64Decode(bad), PermanentError) << bad;
  }
}

TEST(JsonCodec, WrongShapesArePermanentErrorsSayingWhat) {
  const event::TableMeta table = AllTypesTable();
  const std::string good = EncodeEnvelope(table, UpdateEvent(table, 1));
  nlohmann::json base = nlohmann::json::parse(good);
  auto expect_error = [&](const nlohmann::json& message, const std::string& fragment) {
    try {
      DecodeEnvelope(table, message.dump());
      ADD_FAILURE() << "accepted: " << message.dump().substr(0, 120);
    } catch (const PermanentError& e) {
      EXPECT_THAT(e.what(), HasSubstr(fragment));
    }
  };
  nlohmann::json m = base;
  m.erase("op");
  expect_error(m, "missing \"op\"");
  m = base;
  m["after"]["ID"] = "seven";
  expect_error(m, "after.ID: expected an integer");
  m = base;
  m["after"]["PRICE"] = "1.234";
  expect_error(m, "after.PRICE");
  m = base;
  m["after"]["BORN"] = "2025-02-30";
  expect_error(m, "after.BORN");
  m = base;
  m["after"].erase("NAME");
  expect_error(m, "after");
  m = base;
  m["after"]["EXTRA"] = 1;
  expect_error(m, "after");
  m = base;
  m["after"]["ID"] = nullptr;
  expect_error(m, "NOT NULL");
  m = base;
  m["source"]["snapshot"] = "no";
  expect_error(m, "source.snapshot");
  m = base;
  m["op"] = "x";
  expect_error(m, "op");
  m = base;
  m["after"]["SMALL"] = 4294967296;
  expect_error(m, "out of 32-bit range");
  m = base;
  m["after"]["ID"] = 18446744073709551615ULL;
  expect_error(m, "out of range");
  expect_error(nlohmann::json::array(), "expected an object");
}

TEST(JsonCodec, InvalidJsonAndUtf8AreRejected) {
  const event::TableMeta table = AllTypesTable();
  const std::string good = EncodeEnvelope(table, UpdateEvent(table, 1));
  for (size_t length = 0; length < good.size(); length += 7) {
    EXPECT_THROW(DecodeEnvelope(table, good.substr(0, length)), PermanentError) << length;
  }
  std::string bad_utf8 = good;
  bad_utf8.replace(bad_utf8.find("old name"), 3, "\xc3\x28o");
  EXPECT_THROW(DecodeEnvelope(table, bad_utf8), PermanentError);
  EXPECT_THROW(DecodeKey(table, "[1]"), PermanentError);
  EXPECT_THROW(DecodeKey(table, "{\"ID\":1,\"X\":2}"), PermanentError);
}

}  // namespace
}  // namespace cdc::json

namespace cdc::json {
namespace {

TEST(JsonCodec, EscapesControlCharactersAndRoundTripsThem) {
  event::TableMeta table;
  table.columns = {event::MapOdbcColumn("S", SQL_VARCHAR, 64, 0, false)};
  table.key = {0};
  const std::string text = std::string(
      "a\x01"
      "b\x1f"
      "c\"d\\e\tf\r\ng\b\fh",
      17);
  const std::string key = EncodeKey(table, {text});
  EXPECT_EQ(key, R"({"S":"a\u0001b\u001fc\"d\\e\tf\r\ng\b\fh"})");
  EXPECT_EQ(DecodeKey(table, key), event::Row{text});
}

}  // namespace
}  // namespace cdc::json
