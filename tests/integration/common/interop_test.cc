// Interop: events encoded by our code are decoded by an independent implementation —
// /usr/bin/python3 with python3-avro (using the registered value schema, after the 5-byte
// Confluent header) and Python's json module — with every value equal to what went in.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/avro/codec.h"
#include "common/avro/schema.h"
#include "common/event/messages.h"
#include "tests/harness/process.h"
#include "tests/unit/common/avro/test_tables.h"

namespace cdc::testing {
namespace {

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

nlohmann::json DecodeInPython(const event::TableMeta& table, const event::ChangeEvent& event) {
  TempDir dir;
  const std::string schema = avro::ValueSchema("cdc", table);
  const auto avro_message =
      event::BuildMessages(table, event, {11, 4242}, {event::Format::kAvro, false, "p"})[0];
  const auto json_message =
      event::BuildMessages(table, event, {11, 4242}, {event::Format::kJson, false, "p"})[0];
  WriteFile(dir.File("schema.avsc"), schema);
  WriteFile(dir.File("event.avro"), *avro_message.value);
  WriteFile(dir.File("event.json"), *json_message.value);
  std::string output;
  const int rc =
      RunShell("/usr/bin/python3 " + std::string(CDC_SOURCE_DIR) +
                   "/tests/integration/common/interop_decode.py " + dir.File("schema.avsc") + " " +
                   dir.File("event.avro") + " " + dir.File("event.json"),
               &output);
  EXPECT_EQ(rc, 0) << output;
  return nlohmann::json::parse(output);
}

TEST(Interop, PythonAvroDecodesEveryValueExactly) {
  const event::TableMeta table = AllTypesTable();
  const nlohmann::json decoded = DecodeInPython(table, UpdateEvent(table, 7));
  EXPECT_EQ(decoded["schema_id"], 4242);
  const nlohmann::json& after = decoded["avro"]["after"];
  EXPECT_EQ(after["ID"], nlohmann::json({{"int", "7"}}));
  EXPECT_EQ(after["SMALL"], nlohmann::json({{"int", "-32768"}}));
  EXPECT_EQ(after["PRICE"], nlohmann::json({{"decimal", "-123.45"}}));
  EXPECT_EQ(after["BIG_DEC"],
            nlohmann::json({{"decimal", "1234567890123456789012345678.9012345678"}}));
  EXPECT_EQ(after["FREE_NUMBER"], nlohmann::json({{"str", "-0.000001"}}));
  EXPECT_EQ(after["RATIO"], nlohmann::json({{"float", "0.5"}}));
  EXPECT_EQ(after["SCORE"], nlohmann::json({{"float", "-1.25e+300"}}));
  EXPECT_EQ(after["NAME"], nlohmann::json({{"str", "größe 日本 ✓"}}));
  EXPECT_EQ(after["NOTE_1"], nlohmann::json({{"str", "line1\nline2 \"quoted\" \\ back"}}));
  EXPECT_EQ(after["BLOB"], nlohmann::json({{"bytes", "AAH//g=="}}));
  EXPECT_EQ(after["BORN"], nlohmann::json({{"date", "2025-11-21"}}));
  EXPECT_EQ(after["UPDATED_TZ"],
            nlohmann::json({{"datetime", "1969-12-31T23:59:59.999999+00:00"}}));
  EXPECT_EQ(after["ACTIVE"], nlohmann::json({{"bool", true}}));
  EXPECT_EQ(after["SPAN"], nlohmann::json({{"str", "1 02:03:04.5"}}));
  EXPECT_EQ(decoded["avro"]["before"]["NAME"], nlohmann::json({{"str", "old name"}}));
  EXPECT_EQ(decoded["avro"]["op"], nlohmann::json({{"str", "u"}}));
  EXPECT_EQ(decoded["avro"]["source"]["seq"], nlohmann::json({{"int", "42"}}));
  EXPECT_EQ(decoded["avro"]["source"]["txid"], nlohmann::json({{"str", "tx-7"}}));
  // python3-avro 1.11.1 predates local-timestamp-micros: it reads the underlying long, exactly.
  EXPECT_EQ(after["CREATED"], nlohmann::json({{"int", "1795249601123456"}}));
  EXPECT_EQ(after["TOKEN"], nlohmann::json({{"str", "123e4567-e89b-12d3-a456-426614174000"}}));
  EXPECT_EQ(decoded["avro"]["source"]["change_ts"],
            nlohmann::json({{"datetime", "2026-11-21T08:26:41+00:00"}}));
}

TEST(Interop, PythonJsonReadsTheSameValues) {
  const event::TableMeta table = AllTypesTable();
  const nlohmann::json decoded = DecodeInPython(table, UpdateEvent(table, 7));
  const nlohmann::json& after = decoded["json"]["after"];
  EXPECT_EQ(after["ID"], 7);
  EXPECT_EQ(after["PRICE"], "-123.45");
  EXPECT_EQ(after["BIG_DEC"], "1234567890123456789012345678.9012345678");
  EXPECT_EQ(after["FREE_NUMBER"], "-0.000001");
  EXPECT_EQ(after["NAME"], "größe 日本 ✓");
  EXPECT_EQ(after["NOTE#1"], "line1\nline2 \"quoted\" \\ back");
  EXPECT_EQ(after["BLOB"], "AAH//g==");
  EXPECT_EQ(after["CREATED"], "2026-11-21T08:26:41.123456");
  EXPECT_EQ(after["UPDATED_TZ"], "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(after["SCORE"], -1.25e300);
}

TEST(Interop, NullsAndDeletesDecodeInPython) {
  const event::TableMeta table = AllTypesTable();
  event::ChangeEvent deleted = UpdateEvent(table, 3);
  deleted.op = event::Op::kDelete;
  deleted.after.reset();
  for (size_t i = 1; i < deleted.before->size(); ++i) (*deleted.before)[i] = std::monostate{};
  const nlohmann::json decoded = DecodeInPython(table, deleted);
  EXPECT_TRUE(decoded["avro"]["after"].is_null());
  EXPECT_EQ(decoded["avro"]["before"]["ID"], nlohmann::json({{"int", "3"}}));
  EXPECT_TRUE(decoded["avro"]["before"]["PRICE"].is_null());
  EXPECT_TRUE(decoded["json"]["before"]["BLOB"].is_null());
  EXPECT_EQ(decoded["json"]["op"], "d");
}

}  // namespace
}  // namespace cdc::testing
