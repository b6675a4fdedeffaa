// schemas/ documents the public event contract; these tests keep it true. The example schemas in
// schemas/avro/ and the example messages in schemas/README.md are regenerated from the code and
// compared with the committed text. To update them after a deliberate contract change:
//   CDC_REGENERATE_DOCS=1 build/tests/schemas_docs_tests
#include <gtest/gtest.h>
#include <sql.h>
#include <sqlext.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/avro/codec.h"
#include "common/avro/schema.h"
#include "common/event/messages.h"
#include "producer/publisher.h"

namespace cdc {
namespace {

using event::MapOdbcColumn;

// The documented example: SHOP.ORDERS in an Oracle source, pipeline "shop".
event::TableMeta Orders() {
  event::TableMeta table;
  table.db = "XEPDB1";
  table.schema = "SHOP";
  table.table = "ORDERS";
  table.columns = {
      MapOdbcColumn("ORDER_ID", SQL_DECIMAL, 12, 0, false),
      MapOdbcColumn("CUSTOMER_ID", SQL_INTEGER, 10, 0, false),
      MapOdbcColumn("AMOUNT", SQL_DECIMAL, 12, 2, true),
      MapOdbcColumn("STATUS", SQL_VARCHAR, 20, 0, false),
      MapOdbcColumn("NOTE", SQL_LONGVARCHAR, 0, 0, true),
      MapOdbcColumn("CREATED_AT", SQL_TYPE_TIMESTAMP, 26, 6, false),
      MapOdbcColumn("SHIPPED_AT", 2014, 35, 6, true),
      MapOdbcColumn("GIFT$WRAP", SQL_BIT, 1, 0, true),
  };
  table.key = {0};
  return table;
}

event::ChangeEvent OrderUpdate() {
  event::ChangeEvent e;
  e.op = event::Op::kUpdate;
  e.before = event::Row{std::string("1001"),  int64_t{42},
                        std::string("99.90"), std::string("NEW"),
                        std::monostate{},     int64_t{1795249601123456},
                        std::monostate{},     false};
  e.after = event::Row{std::string("1001"),
                       int64_t{42},
                       std::string("99.90"),
                       std::string("SHIPPED"),
                       std::string("leave at the back door"),
                       int64_t{1795249601123456},
                       int64_t{1795253201000000},
                       false};
  e.key = {std::string("1001")};
  e.source = {"shop", "XEPDB1", "SHOP", "ORDERS", 5678, 1795253201250000, std::string("4.12.1093"),
              false};
  e.ts_ms = 1795253201312;
  return e;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool Regenerate() { return std::getenv("CDC_REGENERATE_DOCS") != nullptr; }

void CheckFile(const std::string& relative, const std::string& expected) {
  const std::string path = std::string(CDC_SOURCE_DIR) + "/" + relative;
  if (Regenerate()) std::ofstream(path) << expected;
  EXPECT_EQ(ReadFile(path), expected) << relative << " drifted from the code; regenerate with "
                                      << "CDC_REGENERATE_DOCS=1";
}

std::string Pretty(const std::string& json_text) {
  return nlohmann::ordered_json::parse(json_text).dump(2) + "\n";
}

// Replaces the text between <!-- NAME:begin --> and <!-- NAME:end --> markers in the README.
void CheckReadmeBlock(const std::string& name, const std::string& block) {
  const std::string path = std::string(CDC_SOURCE_DIR) + "/schemas/README.md";
  std::string readme = ReadFile(path);
  const std::string begin = "<!-- " + name + ":begin -->\n";
  const std::string end = "<!-- " + name + ":end -->";
  const size_t from = readme.find(begin);
  const size_t to = readme.find(end);
  ASSERT_NE(from, std::string::npos) << "README lacks the " << name << " block";
  ASSERT_NE(to, std::string::npos);
  const std::string current = readme.substr(from + begin.size(), to - from - begin.size());
  if (Regenerate()) {
    readme.replace(from + begin.size(), to - from - begin.size(), block);
    std::ofstream(path) << readme;
    return;
  }
  EXPECT_EQ(current, block) << "schemas/README.md block " << name << " drifted from the code";
}

TEST(SchemasDocs, ExampleSchemasMatchTheCode) {
  CheckFile("schemas/avro/example.SHOP.ORDERS-value.avsc",
            Pretty(avro::ValueSchema("cdc", Orders())));
  CheckFile("schemas/avro/example.SHOP.ORDERS-key.avsc", Pretty(avro::KeySchema("cdc", Orders())));
  const nlohmann::ordered_json value =
      nlohmann::ordered_json::parse(avro::ValueSchema("cdc", Orders()));
  CheckFile("schemas/avro/source.avsc", value["fields"][2]["type"].dump(2) + "\n");
}

// The compression subscribers must decode is the producer's (kafka.properties may change it).
TEST(SchemasDocs, ReadmeStatesTheProducersCompression) {
  const std::string codec = producer::Publisher::DefaultProperties().at("compression.type");
  CheckReadmeBlock("compression",
                   "Compression: `" + codec + "` (librdkafka's `compression.type`).\n");
}

TEST(SchemasDocs, ReadmeExamplesMatchTheCode) {
  const event::TableMeta table = Orders();
  const auto json_messages = event::BuildMessages(table, OrderUpdate(), {1041, 1042},
                                                  {event::Format::kJson, true, "producer-7f3a"});
  CheckReadmeBlock("example-json-key", "```json\n" + json_messages[0].key + "\n```\n");
  CheckReadmeBlock(
      "example-json-value",
      "```json\n" + nlohmann::ordered_json::parse(*json_messages[0].value).dump(2) + "\n```\n");
  std::string headers = "```\n";
  for (const kafka::Header& header : json_messages[0].headers) {
    headers += header.key + ": " + header.value.value_or("") + "\n";
  }
  CheckReadmeBlock("example-headers", headers + "```\n");
  const auto avro_messages = event::BuildMessages(table, OrderUpdate(), {1041, 1042},
                                                  {event::Format::kAvro, true, "producer-7f3a"});
  std::string hex = "```\n";
  const std::string& value = *avro_messages[0].value;
  for (size_t i = 0; i < value.size(); ++i) {
    char byte[4];
    std::snprintf(byte, sizeof(byte), "%02x", static_cast<unsigned char>(value[i]));
    hex += byte;
    hex += (i % 16 == 15 || i + 1 == value.size()) ? "\n" : " ";
  }
  CheckReadmeBlock("example-avro-value", hex + "```\n");
}

}  // namespace
}  // namespace cdc
