#include "common/avro/schema.h"

#include <avro.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "common/avro/canonical.h"
#include "common/error.h"
#include "tests/unit/common/avro/test_tables.h"

namespace cdc::avro {
namespace {

using ::testing::ElementsAre;

TEST(SanitizeNames, ReplacesInvalidCharactersAndKeepsValidNames) {
  EXPECT_EQ(SanitizeName("ORDER_ID"), "ORDER_ID");
  EXPECT_EQ(SanitizeName("AMOUNT$"), "AMOUNT_");
  EXPECT_EQ(SanitizeName("ITEM#NO"), "ITEM_NO");
  EXPECT_EQ(SanitizeName("1ST"), "_1ST");
  EXPECT_EQ(SanitizeName("order lines"), "order_lines");
  EXPECT_EQ(SanitizeName("größe"), "gr____e");  // each UTF-8 byte of ö, ß becomes _
  EXPECT_EQ(SanitizeName(""), "_");
}

TEST(SanitizeNames, IsCollisionFreeAndDeterministic) {
  const std::vector<std::string> names = {"A$B", "A#B", "A_B", "A B", "A_B_2"};
  const std::vector<std::string> avro = SanitizeNames(names);
  EXPECT_THAT(avro, ElementsAre("A_B_3", "A_B_4", "A_B", "A_B_5", "A_B_2"));
  EXPECT_EQ(std::set<std::string>(avro.begin(), avro.end()).size(), names.size());
  EXPECT_EQ(SanitizeNames(names), avro);
}

TEST(ValueSchema, KeepsOriginalNamesSoTheMappingIsReversible) {
  event::TableMeta table = cdc::testing::AllTypesTable();
  table.columns.push_back(event::MapOdbcColumn("NOTE_1", SQL_VARCHAR, 10, 0, true));  // vs NOTE#1
  const event::TableMeta back = TableFromValueSchema(ValueSchema("cdc", table));
  ASSERT_EQ(back.columns.size(), table.columns.size());
  for (size_t i = 0; i < table.columns.size(); ++i) {
    EXPECT_EQ(back.columns[i].name, table.columns[i].name);
    EXPECT_EQ(back.columns[i].type, table.columns[i].type) << table.columns[i].name;
    EXPECT_EQ(back.columns[i].nullable, table.columns[i].nullable);
    EXPECT_EQ(back.columns[i].precision, table.columns[i].precision);
    EXPECT_EQ(back.columns[i].scale, table.columns[i].scale);
    EXPECT_EQ(back.columns[i].length, table.columns[i].length);
  }
  EXPECT_EQ(back.key, table.key);
  EXPECT_EQ(back.db, "shop");
  EXPECT_EQ(back.schema, "SHOP");
  EXPECT_EQ(back.table, "ALL$TYPES");
  const nlohmann::json schema = nlohmann::json::parse(ValueSchema("cdc", table));
  std::set<std::string> field_names;
  for (const auto& field : schema["fields"][0]["type"][1]["fields"]) {
    field_names.insert(field["name"].get<std::string>());
  }
  EXPECT_EQ(field_names.size(), table.columns.size());  // NOTE#1 and NOTE_1 did not collide
}

TEST(ValueSchema, IsStableAndValidForAvroC) {
  const event::TableMeta table = cdc::testing::AllTypesTable();
  const std::string value = ValueSchema("cdc", table);
  const std::string key = KeySchema("cdc", table);
  EXPECT_EQ(ValueSchema("cdc", table), value);  // byte-identical, so fingerprints are stable
  for (const std::string& text : {value, key}) {
    avro_schema_t schema = nullptr;
    ASSERT_EQ(avro_schema_from_json_length(text.data(), text.size(), &schema), 0)
        << avro_strerror() << "\n"
        << text;
    avro_schema_decref(schema);
  }
  EXPECT_NE(SchemaFingerprint(value), SchemaFingerprint(key));
  const nlohmann::json parsed = nlohmann::json::parse(value);
  EXPECT_EQ(parsed["namespace"], "cdc.SHOP.ALL_TYPES");
  EXPECT_EQ(parsed["name"], "Envelope");
}

TEST(ValueSchema, AddingANullableColumnChangesTheFingerprint) {
  event::TableMeta table = cdc::testing::AllTypesTable();
  const uint64_t before = SchemaFingerprint(ValueSchema("cdc", table));
  table.columns.push_back(event::MapOdbcColumn("EXTRA", SQL_VARCHAR, 10, 0, true));
  EXPECT_NE(SchemaFingerprint(ValueSchema("cdc", table)), before);
}

TEST(TableFromValueSchema, RejectsOtherShapes) {
  for (const char* bad :
       {"", "{}", R"({"type":"record","name":"Envelope","fields":[]})",
        R"({"type":"record","name":"Other","fields":[{"name":"a","type":"int"}]})",
        R"("string")"}) {
    EXPECT_THROW(TableFromValueSchema(bad), PermanentError) << bad;
  }
}

}  // namespace
}  // namespace cdc::avro
