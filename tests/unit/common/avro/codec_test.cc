#include "common/avro/codec.h"

#include <avro.h>
#include <gtest/gtest.h>

#include "common/avro/schema.h"
#include "common/error.h"
#include "tests/unit/common/avro/test_tables.h"

namespace cdc::avro {
namespace {

using cdc::testing::AllTypesRow;
using cdc::testing::AllTypesTable;
using cdc::testing::UpdateEvent;

TEST(AvroCodec, EnvelopeRoundTripsEveryColumnType) {
  const event::TableMeta table = AllTypesTable();
  const event::ChangeEvent original = UpdateEvent(table, 7);
  const event::ChangeEvent decoded = DecodeEnvelope(table, EncodeEnvelope(table, original));
  EXPECT_EQ(decoded, original);
}

TEST(AvroCodec, NullsInsertsDeletesAndSnapshotReadsRoundTrip) {
  const event::TableMeta table = AllTypesTable();
  event::Row nulls(table.columns.size(), std::monostate{});
  nulls[0] = int64_t{9};
  event::ChangeEvent insert{event::Op::kCreate,
                            std::nullopt,
                            nulls,
                            {int64_t{9}},
                            {"p", "shop", "SHOP", "ALL$TYPES", 1, 0, std::nullopt, false},
                            5};
  EXPECT_EQ(DecodeEnvelope(table, EncodeEnvelope(table, insert)), insert);
  event::ChangeEvent deleted = insert;
  deleted.op = event::Op::kDelete;
  deleted.before = nulls;  // only the key column recorded
  deleted.after.reset();
  EXPECT_EQ(DecodeEnvelope(table, EncodeEnvelope(table, deleted)), deleted);
  event::ChangeEvent read = insert;
  read.op = event::Op::kRead;
  read.source.snapshot = true;
  EXPECT_EQ(DecodeEnvelope(table, EncodeEnvelope(table, read)), read);
}

TEST(AvroCodec, KeyRoundTrips) {
  event::TableMeta table = AllTypesTable();
  table.key = {7, 0};  // composite: NAME, ID
  const event::Row key = {std::string("k"), int64_t{-5}};
  EXPECT_EQ(DecodeKey(table, EncodeKey(table, key)), key);
  EXPECT_THROW(EncodeKey(table, {int64_t{1}}), PermanentError);
}

TEST(AvroCodec, AvroCReadsWhatWeWrite) {
  // An independent implementation decodes our bytes with our schema and consumes all of them.
  const event::TableMeta table = AllTypesTable();
  const std::string schema_text = ValueSchema("cdc", table);
  const std::string body = EncodeEnvelope(table, UpdateEvent(table, 123));
  avro_schema_t schema = nullptr;
  ASSERT_EQ(avro_schema_from_json_length(schema_text.data(), schema_text.size(), &schema), 0);
  avro_value_iface_t* iface = avro_generic_class_from_schema(schema);
  avro_value_t value;
  avro_generic_value_new(iface, &value);
  avro_reader_t reader = avro_reader_memory(body.data(), static_cast<int64_t>(body.size()));
  ASSERT_EQ(avro_value_read(reader, &value), 0) << avro_strerror();
  char extra = 0;
  EXPECT_NE(avro_read(reader, &extra, 1), 0);  // every byte was consumed by the record
  avro_value_t after, branch, id, name, op;
  ASSERT_EQ(avro_value_get_by_name(&value, "after", &after, nullptr), 0);
  ASSERT_EQ(avro_value_get_current_branch(&after, &branch), 0);
  ASSERT_EQ(avro_value_get_by_name(&branch, "ID", &id, nullptr), 0);
  int64_t id_value = 0;
  avro_value_get_long(&id, &id_value);
  EXPECT_EQ(id_value, 123);
  ASSERT_EQ(avro_value_get_by_name(&branch, "NAME", &name, nullptr), 0);
  avro_value_t name_branch;
  avro_value_get_current_branch(&name, &name_branch);
  const char* text = nullptr;
  size_t size = 0;
  avro_value_get_string(&name_branch, &text, &size);
  EXPECT_EQ(std::string(text, size - 1), "größe 日本 ✓");  // avro-c counts the NUL
  ASSERT_EQ(avro_value_get_by_name(&value, "op", &op, nullptr), 0);
  avro_value_get_string(&op, &text, &size);
  EXPECT_STREQ(text, "u");
  avro_reader_free(reader);
  avro_value_decref(&value);
  avro_value_iface_decref(iface);
  avro_schema_decref(schema);
}

TEST(WireFormat, HeaderIsMagicZeroAndBigEndianId) {
  std::string framed;
  AppendWireHeader(0x01020304, framed);
  framed += "body";
  EXPECT_EQ(framed.substr(0, 5), std::string("\x00\x01\x02\x03\x04", 5));
  const WirePayload parsed = ParseWireHeader(framed);
  EXPECT_EQ(parsed.schema_id, 0x01020304);
  EXPECT_EQ(parsed.body, "body");
}

TEST(WireFormat, RejectsShortAndWrongMagic) {
  EXPECT_THROW(ParseWireHeader(""), PermanentError);
  EXPECT_THROW(ParseWireHeader(std::string("\x00\x00\x00\x01", 4)), PermanentError);
  try {
    ParseWireHeader(std::string("\x01\x00\x00\x00\x01", 5));
    FAIL();
  } catch (const PermanentError& e) {
    EXPECT_NE(std::string(e.what()).find("magic byte is 1"), std::string::npos) << e.what();
  }
}

TEST(AvroCodec, MalformedBodiesArePermanentErrorsSayingWhat) {
  const event::TableMeta table = AllTypesTable();
  const std::string good = EncodeEnvelope(table, UpdateEvent(table, 1));
  // Every truncation fails cleanly.
  for (size_t length = 0; length < good.size(); ++length) {
    EXPECT_THROW(DecodeEnvelope(table, good.substr(0, length)), PermanentError) << length;
  }
  EXPECT_THROW(DecodeEnvelope(table, good + "x"), PermanentError);              // trailing garbage
  EXPECT_THROW(DecodeEnvelope(table, std::string("\x04", 1)), PermanentError);  // union branch 2
  std::string huge_length = std::string("\x02", 1) + std::string("\x02", 1);    // before, ID=1
  huge_length += std::string("\x02\xfe\xff\xff\xff\x0f", 6);  // SMALL present; then
  EXPECT_THROW(DecodeEnvelope(table, huge_length), PermanentError);
  EXPECT_THROW(DecodeEnvelope(table, std::string(12, '\xff')), PermanentError);  // endless varint
}

TEST(AvroCodec, InvalidUtf8InAStringIsRejected) {
  event::TableMeta table;
  table.columns = {event::MapOdbcColumn("S", SQL_VARCHAR, 10, 0, false)};
  std::string body;
  body += '\x00';                      // before: null
  body += '\x02';                      // after: present
  body += '\x04';                      // string of 2 bytes
  body += std::string("\xc3\x28", 2);  // invalid UTF-8
  try {
    DecodeEnvelope(table, body);
    FAIL();
  } catch (const PermanentError& e) {
    EXPECT_NE(std::string(e.what()).find("invalid UTF-8 in S"), std::string::npos) << e.what();
  }
}

TEST(AvroCodec, EncoderRejectsValuesThatDoNotFitTheirColumn) {
  const event::TableMeta table = AllTypesTable();
  event::ChangeEvent e = UpdateEvent(table, 1);
  (*e.after)[0] = std::monostate{};  // ID is NOT NULL
  EXPECT_THROW(EncodeEnvelope(table, e), PermanentError);
  e = UpdateEvent(table, 1);
  (*e.after)[2] = std::string("1.234");  // PRICE is numeric(12,2)
  EXPECT_THROW(EncodeEnvelope(table, e), PermanentError);
  e = UpdateEvent(table, 1);
  (*e.after)[1] = int64_t{1} << 40;  // SMALL is an Avro int
  EXPECT_THROW(EncodeEnvelope(table, e), PermanentError);
  e = UpdateEvent(table, 1);
  (*e.after)[4] = std::string("twelve");  // FREE_NUMBER is decimal text
  EXPECT_THROW(EncodeEnvelope(table, e), PermanentError);
  e = UpdateEvent(table, 1);
  e.after->pop_back();
  EXPECT_THROW(EncodeEnvelope(table, e), PermanentError);
}

TEST(SchemaEvolution, NewerReaderReadsOldAndNewPayloads) {
  const event::TableMeta v1 = AllTypesTable();
  event::TableMeta v2 = v1;
  v2.columns.push_back(event::MapOdbcColumn("LOYALTY_TIER", SQL_VARCHAR, 10, 0, true));
  // Tables round-trip through their schemas as a consumer would see them.
  const event::TableMeta writer_v1 = TableFromValueSchema(ValueSchema("cdc", v1));
  const event::TableMeta reader_v2 = TableFromValueSchema(ValueSchema("cdc", v2));

  const event::ChangeEvent old_event = UpdateEvent(v1, 1);
  const event::ChangeEvent old_decoded = DecodeEnvelope(writer_v1, EncodeEnvelope(v1, old_event));
  const event::Row projected = ProjectRow(writer_v1, *old_decoded.after, reader_v2);
  ASSERT_EQ(projected.size(), v2.columns.size());
  EXPECT_TRUE(event::IsNull(projected.back()));  // the new column reads as null
  for (size_t i = 0; i < v1.columns.size(); ++i) EXPECT_EQ(projected[i], (*old_event.after)[i]);

  event::ChangeEvent new_event = UpdateEvent(v1, 2);
  new_event.before->push_back(std::string("gold"));
  new_event.after->push_back(std::string("platinum"));
  const event::ChangeEvent new_decoded = DecodeEnvelope(reader_v2, EncodeEnvelope(v2, new_event));
  EXPECT_EQ(ProjectRow(reader_v2, *new_decoded.after, reader_v2), *new_event.after);
}

TEST(SchemaEvolution, IncompatibleChangesArePermanentErrors) {
  const event::TableMeta v1 = AllTypesTable();
  event::TableMeta required = v1;
  required.columns.push_back(event::MapOdbcColumn("MUST", SQL_INTEGER, 10, 0, false));
  const event::Row row = AllTypesRow(1);
  EXPECT_THROW(ProjectRow(v1, row, required), PermanentError);
  event::TableMeta retyped = v1;
  retyped.columns[7] = event::MapOdbcColumn("NAME", SQL_INTEGER, 10, 0, true);
  EXPECT_THROW(ProjectRow(v1, row, retyped), PermanentError);
}

}  // namespace
}  // namespace cdc::avro
