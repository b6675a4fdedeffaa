// Records deleted from a topic before the consumer applied them (retention ran ahead of it) are
// data loss the consumer cannot undo: the stored position is before the start of the log
// (consumer.on_offset_reset). By default the partition stops - ERROR, metric, /ready false, the
// replica and the stored offset untouched; with `replay` the consumer says so and applies what
// the log still holds. The dev broker keeps at most 5 MB per partition, which makes retention
// easy to trigger.
#include <gtest/gtest.h>
#include <httplib.h>

#include "tests/integration/consumer/consumer_fixture.h"

namespace cdc::testing {
namespace {

using event::Op;

TEST_F(ConsumerTest, RecordsLostToRetentionStopThePartitionOrAreReplayedPastByPolicy) {
  EventWriter writer(broker_.bootstrap(), event::Format::kAvro);
  const event::TableMeta table = OrdersTable();
  const std::string topic = writer.Topic(table);
  broker_.CreateTopic(topic, 1);
  for (int64_t id = 1; id <= 3; ++id) {
    writer.Write(table, OrderEvent(Op::kCreate, id, id, "kept", id));
  }
  writer.Flush();
  {
    ConsumerProcess consumer({"run", "--config", ConfigPath()}, LogPath());
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

  // on_offset_reset: stop (the default).
  WriteFile(LogPath(), "");
  {
    ConsumerProcess consumer({"run", "--config", ConfigPath()}, LogPath());
    ASSERT_TRUE(WaitUntil([&] { return StatusPort(LogPath()) > 0; }, std::chrono::seconds(30)));
    httplib::Client status("127.0.0.1", StatusPort(LogPath()));
    std::string metrics;
    ASSERT_TRUE(WaitUntil(
        [&] {
          const auto res = status.Get("/metrics");
          metrics = res ? res->body : "";
          return metrics.find("cdc_consumer_offset_resets_total{topic=\"" + topic +
                              "\",reason=\"before_log_start\"} 1") != std::string::npos;
        },
        std::chrono::seconds(60)))
        << metrics << LogTail(40);
    EXPECT_NE(metrics.find("cdc_consumer_stopped_partitions 1"), std::string::npos) << metrics;
    const auto ready = status.Get("/ready");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 503);
    EXPECT_NE(ready->body.find(topic + "[0] stopped: before_log_start (stored offset 3"),
              std::string::npos)
        << ready->body;
    std::this_thread::sleep_for(std::chrono::seconds(2));
    EXPECT_EQ(AppliedThrough(topic), 3);
    EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
  }
  const std::string stopped_log = LogTail(400);
  const size_t error = stopped_log.find("before the start of the partition's log");
  ASSERT_NE(error, std::string::npos) << stopped_log;
  const size_t line = stopped_log.rfind('\n', error) + 1;
  EXPECT_NE(stopped_log.substr(line, error - line).find("\"level\":\"error\""), std::string::npos)
      << stopped_log;
  EXPECT_NE(stopped_log.find("\"stored_offset\":3", error), std::string::npos) << stopped_log;
  EXPECT_NE(stopped_log.find("\"log_start\":7", error), std::string::npos) << stopped_log;
  EXPECT_NE(stopped_log.find("\"log_end\":14", error), std::string::npos) << stopped_log;
  EXPECT_EQ(Sql("SELECT string_agg(id || ':' || note, ',' ORDER BY id) FROM replica.orders"),
            "1:kept,2:kept,3:kept");

  // on_offset_reset: replay: the rest of the log is applied, the lost updates are not invented.
  WriteFile(LogPath(), "");
  ConsumerProcess consumer({"run", "--config", ConfigPath("  on_offset_reset: replay\n")},
                           LogPath());
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic) >= end; }, std::chrono::seconds(60)))
      << LogTail();
  ASSERT_TRUE(WaitUntil([&] { return StatusPort(LogPath()) > 0; }, std::chrono::seconds(30)));
  httplib::Client status("127.0.0.1", StatusPort(LogPath()));
  EXPECT_TRUE(BecomesReady(StatusPort(LogPath()), std::chrono::seconds(30)));
  EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
  const std::string log = LogTail(400);
  EXPECT_NE(log.find("replaying the partition from the log's start"), std::string::npos) << log;
  EXPECT_NE(log.find("partition caught up with its replay"), std::string::npos) << log;
  EXPECT_EQ(Sql("SELECT string_agg(id || ':' || note, ',' ORDER BY id) FROM replica.orders"),
            "1:kept,2:kept,3:after,4:after");
}

}  // namespace
}  // namespace cdc::testing
