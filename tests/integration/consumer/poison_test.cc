// Poison records are dead-lettered with their context (topic + cdc.dead_letters) while every other
// event of the batch is applied: undecodable bytes, an unknown schema id, a NULL into a NOT NULL
// column, a value the column cannot take, and an incompatible schema change.
#include <gtest/gtest.h>

#include <set>

#include "common/avro/codec.h"
#include "tests/integration/consumer/consumer_fixture.h"

namespace cdc::testing {
namespace {

using event::Op;

TEST_F(ConsumerTest, PoisonRecordsAreDeadLetteredAndEverythingElseApplies) {
  EventWriter writer(broker_.bootstrap(), event::Format::kAvro);
  const event::TableMeta table = OrdersTable();
  const std::string topic = writer.Topic(table);
  for (int64_t id = 1; id <= 10; ++id) {
    writer.Write(table, OrderEvent(Op::kCreate, id, id, "note", id, "1.50"));
  }
  writer.Flush();
  // The unknown schema id below is waited for 1 s (unknown_schema_test.cc covers the wait).
  ConsumerProcess consumer(
      {"run", "--config", ConfigPath("  batch_max_ms: 500\n  unknown_schema_wait_ms: 1000\n")},
      LogPath());
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic) >= 10; }, std::chrono::seconds(60)));
  // The replica gains constraints the source does not have (an operator's change).
  Sql("ALTER TABLE replica.orders ALTER COLUMN note SET NOT NULL");
  Sql("ALTER TABLE replica.orders ALTER COLUMN amount TYPE integer USING 0");

  int64_t seq = 100;
  auto good = [&](int64_t id) {
    writer.Write(table, OrderEvent(Op::kCreate, id, ++seq, "good", id));
  };
  good(11);
  writer.WriteRaw(topic, "k1", "\x07not avro", {});  // undecodable: no wire header
  good(12);
  std::string unknown;
  avro::AppendWireHeader(987654, unknown);
  unknown += std::string("\x02\x04", 2);
  writer.WriteRaw(topic, "k2", unknown, {{"cdc.op", "c"}});  // unknown schema id
  good(13);
  writer.Write(table, OrderEvent(Op::kCreate, 14, ++seq, std::nullopt, 14));  // NULL note
  good(15);
  writer.Write(table, OrderEvent(Op::kUpdate, 3, ++seq, "x", 3, "12.50"));  // not an integer
  good(16);
  event::TableMeta retyped = OrdersTable();
  retyped.columns[3].type = event::ColumnType::kString;  // QTY: integer -> varchar(10)
  retyped.columns[3].length = 10;
  event::ChangeEvent incompatible = OrderEvent(Op::kUpdate, 4, ++seq, "y", 0);
  (*incompatible.after)[3] = std::string("many");
  writer.Write(retyped, incompatible);
  good(17);
  writer.Flush();
  // 10 + 6 good + 5 poison messages.
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic) >= 21; }, std::chrono::seconds(60)))
      << AppliedThrough(topic) << "\n"
      << Sql("SELECT partition, next_offset FROM cdc.offsets ORDER BY 1") << "\n"
      << Sql("SELECT \"offset\", partition, error_class FROM cdc.dead_letters") << "\n"
      << Sql("SELECT id FROM replica.orders ORDER BY 1");
  EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);

  EXPECT_EQ(Sql("SELECT string_agg(id::text, ',' ORDER BY id) FROM replica.orders"),
            "1,2,3,4,5,6,7,8,9,10,11,12,13,15,16,17");
  EXPECT_EQ(Sql("SELECT note || ' ' || qty FROM replica.orders WHERE id IN (3, 4) ORDER BY id"),
            "note 3\nnote 4");  // the failed updates left the rows as they were
  EXPECT_EQ(Sql("SELECT string_agg(stage || ':' || error_class || ':' || COALESCE(error_code, "
                "''), ' ' ORDER BY error_class) FROM cdc.dead_letters"),
            "apply:constraint:23502 apply:data:22P02 decode:decode:AVRO "
            "apply:schema_incompatible:SCHEMA_INCOMPATIBLE decode:schema_unknown:SCHEMA_ID");
  EXPECT_EQ(Sql("SELECT count(*) FROM cdc.dead_letters WHERE value IS NOT NULL AND topic = '" +
                topic + "' AND redriven_at IS NULL AND error_message <> ''"),
            "5");
  EXPECT_EQ(Sql("SELECT count(*) FROM cdc.dead_letters WHERE headers::text LIKE '%cdc.op%'"),
            "4");  // the original headers are kept (the undecodable record had none)
  // Every letter names its table, the undecodable ones too (their topic's table).
  EXPECT_EQ(Sql("SELECT string_agg(DISTINCT COALESCE(target_table, 'NULL'), ',') || ' ' ||"
                " string_agg(DISTINCT COALESCE(source_table, 'NULL'), ',') FROM cdc.dead_letters"),
            "orders SHOP.ORDERS");

  const std::vector<ReadMessage> letters = ReadAll(broker_.bootstrap(), "cdc-pg.dlq");
  ASSERT_EQ(letters.size(), 5u);
  std::multiset<std::string> classes;
  for (const ReadMessage& m : letters) {
    classes.insert(m.Header("cdc.error.class"));
    EXPECT_EQ(m.Header("cdc.original.topic"), topic);
    EXPECT_EQ(m.Header("cdc.consumer.group"), "cdc-pg");
    for (const char* header :
         {"cdc.error.stage", "cdc.error.code", "cdc.error.message", "cdc.original.partition",
          "cdc.original.offset", "cdc.original.timestamp", "cdc.failed_at"}) {
      EXPECT_NE(m.Header(header), "<missing>") << header;
      EXPECT_NE(m.Header(header), "") << header;
    }
    EXPECT_TRUE(m.value.has_value());
  }
  EXPECT_EQ(classes, (std::multiset<std::string>{"constraint", "data", "decode",
                                                 "schema_incompatible", "schema_unknown"}));
  EXPECT_NE(Sql("SELECT error_message FROM cdc.dead_letters WHERE error_class = "
                "'schema_incompatible'")
                .find("changed type from integer to"),
            std::string::npos);
}

TEST_F(ConsumerTest, ALetterThatCanNeverApplyIsDiscardedWithItsReasonAndNotRedriven) {
  EventWriter writer(broker_.bootstrap(), event::Format::kAvro);
  const event::TableMeta table = OrdersTable();
  const std::string topic = writer.Topic(table);
  writer.Write(table, OrderEvent(Op::kCreate, 1, 1, "one", 1));
  writer.Flush();
  const std::string config = ConfigPath();
  {
    ConsumerProcess consumer({"run", "--config", config}, LogPath());
    ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic) >= 1; }, std::chrono::seconds(60)));
    writer.WriteRaw(topic, "k", "\x07not avro", {});  // can never apply
    writer.Flush();
    ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic) >= 2; }, std::chrono::seconds(60)));
    EXPECT_EQ(consumer.Stop(), 0);
  }
  const std::string id = Sql("SELECT id FROM cdc.dead_letters");
  ASSERT_FALSE(id.empty());
  const auto run = [&](const std::vector<std::string>& args, int expected_rc) {
    ConsumerProcess command(args, LogPath());
    const std::string out = command.Output();
    EXPECT_EQ(command.Wait(std::chrono::seconds(30)), expected_rc) << out << LogTail();
    return out;
  };
  std::string out = run({"dlq", "list", "--config", config}, 0);
  EXPECT_NE(out.find(id + "\t" + topic + "\t"), std::string::npos) << out;
  EXPECT_NE(out.find("\torders\tdecode\t"), std::string::npos) << out;
  EXPECT_NE(out.find("\topen\t"), std::string::npos) << out;
  run({"dlq", "discard", "--config", config, "--id", id}, 2);  // a reason is required
  run({"dlq", "discard", "--config", config, "--id", id, "--reason", " "}, 2);
  WriteFile(LogPath(), "");  // usage errors are plain text; what follows logs JSON only
  out = run(
      {"dlq", "discard", "--config", config, "--id", id, "--reason", "a broken test producer"}, 0);
  EXPECT_NE(out.find("discard: 1 discarded, 0 skipped, 0 refused"), std::string::npos) << out;
  EXPECT_EQ(
      Sql("SELECT discard_reason || '|' || (discarded_by LIKE 'cdc-consumer %@%') || '|' ||"
          " (discarded_at IS NOT NULL) || '|' || (redriven_at IS NULL) FROM cdc.dead_letters"),
      "a broken test producer|true|true|true");
  out = run({"dlq", "list", "--config", config}, 0);
  EXPECT_NE(out.find("\tdiscarded\t"), std::string::npos) << out;
  // Redrive leaves it alone: --all selects open letters only; --id reports it.
  out = run({"dlq", "redrive", "--config", config, "--all"}, 0);
  EXPECT_NE(out.find("redrive: 0 applied, 0 failed again, 0 skipped"), std::string::npos) << out;
  out = run({"dlq", "redrive", "--config", config, "--id", id}, 0);
  EXPECT_NE(out.find("already discarded, skipped"), std::string::npos) << out;
  out = run({"dlq", "discard", "--config", config, "--id", id, "--reason", "again"}, 0);
  EXPECT_NE(out.find("already discarded, skipped"), std::string::npos) << out;
  EXPECT_EQ(Sql("SELECT discard_reason FROM cdc.dead_letters"), "a broken test producer");
  out = run({"dlq", "discard", "--config", config, "--id", "987654", "--reason", "x"}, 1);
  EXPECT_NE(out.find("not found"), std::string::npos) << out;
  ExpectJsonLogLines();
}

}  // namespace
}  // namespace cdc::testing
