// Records deleted from a topic before the consumer applied them (retention ran ahead of it) are
// data loss the consumer cannot undo; it must say so, loudly, and carry on with what is left.
// The dev broker keeps at most 5 MB per partition, which makes retention easy to trigger.
#include <gtest/gtest.h>

#include "tests/integration/consumer/consumer_fixture.h"

namespace cdc::testing {
namespace {

using event::Op;

TEST_F(ConsumerTest, RecordsLostToRetentionAreReportedAndTheRestApplied) {
  EventWriter writer(broker_.bootstrap(), event::Format::kAvro);
  const event::TableMeta table = OrdersTable();
  const std::string topic = writer.Topic(table);
  broker_.CreateTopic(topic, 1);
  for (int64_t id = 1; id <= 3; ++id) {
    writer.Write(table, OrderEvent(Op::kCreate, id, id, "kept", id));
  }
  writer.Flush();
  const std::string config = ConfigPath();
  {
    ConsumerProcess consumer({"run", "--config", config}, LogPath());
    ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic) >= 3; }, std::chrono::seconds(60)));
    EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
  }
  // While the consumer is down: two updates that retention will delete, then 6.3 MB of records,
  // then two more updates. The broker drops the oldest records to stay under 5 MB.
  writer.Write(table, OrderEvent(Op::kUpdate, 1, 10, "lost", 1));
  writer.Write(table, OrderEvent(Op::kUpdate, 2, 11, "lost", 2));
  writer.Flush();
  for (int i = 0; i < 7; ++i) {
    writer.WriteRaw(topic, "filler", std::string(900'000, 'x'), {});
    writer.Flush();
  }
  writer.Write(table, OrderEvent(Op::kUpdate, 3, 20, "after", 3));
  writer.Write(table, OrderEvent(Op::kCreate, 4, 21, "after", 4));
  writer.Flush();
  const int64_t end = 3 + 2 + 7 + 2;

  WriteFile(LogPath(), "");
  ConsumerProcess consumer({"run", "--config", config}, LogPath());
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic) >= end; }, std::chrono::seconds(60)))
      << LogTail();
  EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
  const std::string log = LogTail(400);
  const size_t at = log.find("records missing from the topic");
  ASSERT_NE(at, std::string::npos) << log;
  EXPECT_NE(log.find("\"from_offset\":3", at), std::string::npos) << log;
  // What the topic still had is applied; the lost updates are not invented.
  EXPECT_EQ(Sql("SELECT string_agg(id || ':' || note, ',' ORDER BY id) FROM replica.orders"),
            "1:kept,2:kept,3:after,4:after");
}

}  // namespace
}  // namespace cdc::testing
