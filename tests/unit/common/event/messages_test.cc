#include "common/event/messages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/avro/codec.h"
#include "common/json/codec.h"
#include "tests/unit/common/avro/test_tables.h"

namespace cdc::event {
namespace {

using cdc::testing::AllTypesTable;
using cdc::testing::UpdateEvent;
using ::testing::Contains;

std::string HeaderValue(const Message& message, const std::string& key) {
  for (const kafka::Header& header : message.headers) {
    if (header.key == key) return header.value.value_or("<null>");
  }
  return "<missing>";
}

TEST(BuildMessages, AvroMessageIsFramedAndCarriesEveryHeader) {
  const TableMeta table = AllTypesTable();
  const ChangeEvent event = UpdateEvent(table, 7);
  const std::vector<Message> messages =
      BuildMessages(table, event, {101, 202}, {Format::kAvro, true, "producer-1"});
  ASSERT_EQ(messages.size(), 1u);
  const Message& m = messages[0];
  const avro::WirePayload key = avro::ParseWireHeader(m.key);
  EXPECT_EQ(key.schema_id, 101);
  EXPECT_EQ(avro::DecodeKey(table, key.body), event.key);
  const avro::WirePayload value = avro::ParseWireHeader(*m.value);
  EXPECT_EQ(value.schema_id, 202);
  EXPECT_EQ(avro::DecodeEnvelope(table, value.body), event);
  EXPECT_EQ(HeaderValue(m, "cdc.op"), "u");
  EXPECT_EQ(HeaderValue(m, "cdc.table"), "SHOP.ALL$TYPES");
  EXPECT_EQ(HeaderValue(m, "cdc.seq"), "42");
  EXPECT_EQ(HeaderValue(m, "cdc.source_ts"), "2026-11-21T08:26:41Z");
  EXPECT_EQ(HeaderValue(m, "cdc.producer"), "producer-1");
  EXPECT_EQ(HeaderValue(m, "cdc.schema_id"), "202");
}

TEST(BuildMessages, JsonMessageHasTheSameHeaders) {
  const TableMeta table = AllTypesTable();
  const ChangeEvent event = UpdateEvent(table, 7);
  const Message avro_message = BuildMessages(table, event, {1, 2}, {Format::kAvro, true, "p"})[0];
  const Message json_message = BuildMessages(table, event, {1, 2}, {Format::kJson, true, "p"})[0];
  EXPECT_EQ(json_message.headers, avro_message.headers);
  EXPECT_EQ(json_message.key, R"({"ID":7})");
  EXPECT_EQ(json::DecodeEnvelope(table, *json_message.value), event);
}

TEST(BuildMessages, DeleteIsFollowedByATombstoneUnlessDisabled) {
  const TableMeta table = AllTypesTable();
  ChangeEvent event = UpdateEvent(table, 9);
  event.op = Op::kDelete;
  event.after.reset();
  for (Format format : {Format::kAvro, Format::kJson}) {
    const std::vector<Message> messages = BuildMessages(table, event, {1, 2}, {format, true, "p"});
    ASSERT_EQ(messages.size(), 2u);
    EXPECT_TRUE(messages[0].value.has_value());
    EXPECT_FALSE(messages[1].value.has_value());  // tombstone: null value
    EXPECT_EQ(messages[1].key, messages[0].key);  // same key, same partition
    EXPECT_EQ(HeaderValue(messages[1], "cdc.op"), "d");
    EXPECT_EQ(BuildMessages(table, event, {1, 2}, {format, false, "p"}).size(), 1u);
  }
}

TEST(BuildMessages, AvroNeedsSchemaIds) {
  const TableMeta table = AllTypesTable();
  EXPECT_THROW(BuildMessages(table, UpdateEvent(table, 1), {}, {Format::kAvro, true, "p"}),
               std::logic_error);
}

}  // namespace
}  // namespace cdc::event
