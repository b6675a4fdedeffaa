#include "consumer/batch.h"

#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.h"
#include "consumer/pg_text.h"

namespace cdc::consumer {
namespace {

std::shared_ptr<const event::TableMeta> Table() {
  auto table = std::make_shared<event::TableMeta>();
  table->schema = "SHOP";
  table->table = "ORDERS";
  table->columns.push_back({"ID", event::ColumnType::kInt64, 0, 0, 0, false, -5, {}});
  table->columns.push_back({"NOTE", event::ColumnType::kString, 0, 0, 0, true, 12, {}});
  table->key = {0};
  return table;
}

struct Fixture {
  Batch batch;
  void Add(int64_t id, int64_t seq, int64_t offset, const std::string& target = "orders") {
    Record record;
    record.position = {"cdc.SHOP.ORDERS", 0, offset, 0};
    batch.records.push_back(record);
    TableEvent e;
    e.record = batch.records.size() - 1;
    e.table = Table();
    e.event.op = event::Op::kUpdate;
    e.event.key = {id};
    e.event.source.seq = seq;
    e.key_text = KeyText(*e.table, e.event.key);
    e.target = target;
    batch.events.push_back(e);
  }
};

TEST(SelectWinners, HighestSeqWinsPerKeyAndTiesGoToTheLaterOffset) {
  Fixture f;
  f.Add(1, 5, 0);
  f.Add(2, 1, 1);
  f.Add(1, 9, 2);
  f.Add(1, 7, 3);  // older than seq 9: loses
  f.Add(2, 1, 4);  // same seq: the later offset wins
  f.Add(3, 1, 5, "customers");
  const std::vector<TableWork> work = SelectWinners(f.batch.events, f.batch.records);
  ASSERT_EQ(work.size(), 2u);
  EXPECT_EQ(work[0].target, "customers");
  ASSERT_EQ(work[1].events.size(), 2u);
  EXPECT_EQ(work[1].events[0]->record, 2u);  // key 1, seq 9
  EXPECT_EQ(work[1].events[1]->record, 4u);  // key 2, offset 4
  EXPECT_EQ(work[1].source, "SHOP.ORDERS");
}

TEST(SelectWinners, ExcludedEventsTakeNoPart) {
  Fixture f;
  f.Add(1, 5, 0);
  f.Add(1, 9, 1);
  const std::vector<TableWork> work = SelectWinners(f.batch.events, f.batch.records, {false, true});
  ASSERT_EQ(work.size(), 1u);
  ASSERT_EQ(work[0].events.size(), 1u);
  EXPECT_EQ(work[0].events[0]->record, 0u);
}

TEST(NextPositions, OnePastTheHighestOffsetPerPartitionWithItsRecordsFingerprint) {
  std::vector<Record> records(4);
  records[0].position = {"a", 0, 7, 0};
  records[1].position = {"a", 0, 9, 0};
  records[1].value = "nine";
  records[2].position = {"a", 0, 8, 0};
  records[3].position = {"a", 1, 2, 0};
  const auto next = NextPositions(records);
  EXPECT_EQ(next.at({"a", 0}).next_offset, 10);
  EXPECT_EQ(next.at({"a", 0}).fingerprint, Fingerprint(records[1]));
  EXPECT_EQ(next.at({"a", 1}).next_offset, 3);
  EXPECT_EQ(next.at({"a", 1}).fingerprint, Fingerprint(records[3]));
}

TEST(Fingerprint, StableAndSensitiveToTimestampKeyValueAndTheirBoundaries) {
  Record record;
  record.position = {"t", 0, 5, 1700000000000};
  record.key = "k";
  record.value = "v";
  // A stored value: the function must never change (cdc.offsets keeps what it computed).
  EXPECT_EQ(Fingerprint(record), Fingerprint(record));
  const int64_t base = Fingerprint(record);
  std::set<int64_t> seen{base};
  Record other = record;
  other.position.timestamp_ms += 1;
  seen.insert(Fingerprint(other));
  other = record;
  other.key = "kv";
  other.value = "";
  seen.insert(Fingerprint(other));
  other = record;
  other.value.reset();  // a tombstone
  seen.insert(Fingerprint(other));
  other = record;
  other.key.reset();
  seen.insert(Fingerprint(other));
  other = record;
  other.key = "";
  seen.insert(Fingerprint(other));
  EXPECT_EQ(seen.size(), 6U);
  // Neither topic nor offset take part: the same record read again anywhere compares equal.
  other = record;
  other.position.offset = 99;
  other.position.topic = "u";
  EXPECT_EQ(Fingerprint(other), base);
}

TEST(DeadLetterClass, FromStageAndCode) {
  EXPECT_EQ(DeadLetterClass("decode", "AVRO"), "decode");
  EXPECT_EQ(DeadLetterClass("decode", "SCHEMA_ID"), "schema_unknown");
  EXPECT_EQ(DeadLetterClass("apply", "SCHEMA_INCOMPATIBLE"), "schema_incompatible");
  EXPECT_EQ(DeadLetterClass("apply", "22P02"), "data");
  EXPECT_EQ(DeadLetterClass("apply", "23505"), "constraint");
  EXPECT_EQ(DeadLetterClass("apply", "42703"), "sql");
}

TEST(PgText, CopyEscapingAndTypes) {
  event::ColumnMeta text{"T", event::ColumnType::kString, 0, 0, 0, true, 12, {}};
  event::ColumnMeta bytes{"B", event::ColumnType::kBytes, 0, 0, 0, true, -3, {}};
  event::ColumnMeta real{"R", event::ColumnType::kFloat64, 0, 0, 0, true, 8, {}};
  event::ColumnMeta flag{"F", event::ColumnType::kBoolean, 0, 0, 0, true, -7, {}};
  event::ColumnMeta ts{"TS", event::ColumnType::kTimestampTz, 0, 0, 0, true, 93, {}};
  std::string line;
  AppendCopyValue(line, text, std::string("a\tb\\c\nd"));
  EXPECT_EQ(line, "a\\tb\\\\c\\nd");
  line.clear();
  AppendCopyValue(line, bytes, std::string("\x01\xff", 2));
  EXPECT_EQ(line, "\\\\x01ff");
  line.clear();
  AppendCopyValue(line, text, event::Value());
  EXPECT_EQ(line, "\\N");
  EXPECT_EQ(PgText(real, 0.1), "0.1");
  EXPECT_EQ(PgText(real, std::numeric_limits<double>::infinity()), "Infinity");
  EXPECT_EQ(PgText(flag, true), "t");
  EXPECT_EQ(PgText(ts, int64_t{1'700'000'000'123'456}), "2023-11-14T22:13:20.123456Z");
  EXPECT_THROW(PgText(text, std::string("a\0b", 3)), PermanentError);
}

TEST(PgText, KeyTextIsCanonicalJson) {
  auto table = Table();
  EXPECT_EQ(KeyText(*table, {int64_t{1001}}), "[\"1001\"]");
  event::TableMeta composite = *table;
  composite.key = {0, 1};
  EXPECT_EQ(KeyText(composite, {int64_t{7}, std::string("E\"U")}), "[\"7\",\"E\\\"U\"]");
  EXPECT_EQ(KeyText(composite, {int64_t{7}, event::Value()}), "[\"7\",null]");
}

// Tombstones written by earlier versions hold keys spelled by nlohmann::json's dump: the fast
// writer must spell every key the same way, or a replayed insert would miss its tombstone.
TEST(PgText, KeyTextSpellsKeysAsNlohmannJsonDoes) {
  event::TableMeta composite = *Table();
  composite.key = {0, 1};
  const std::vector<std::string> texts = {"",
                                          "plain",
                                          "quote\"and\\back",
                                          "tab\tnl\ncr\rbs\bff\f",
                                          "\x01\x1f\x7f",
                                          "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                                          "/slash/",
                                          "{\"json\":[1]}"};
  for (const std::string& text : texts) {
    const nlohmann::json expected = nlohmann::json::array({"42", text});
    EXPECT_EQ(KeyText(composite, {int64_t{42}, text}),
              expected.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
        << text;
  }
  // Invalid UTF-8 (a hand-made event) is replaced, as before.
  const std::string invalid = "bad\xff";
  EXPECT_EQ(KeyText(composite, {int64_t{42}, invalid}),
            nlohmann::json::array({"42", invalid})
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace
}  // namespace cdc::consumer
