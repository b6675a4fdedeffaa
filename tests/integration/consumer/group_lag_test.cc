// The group's lag counts every partition of its input topics, held by this member or not
// (consumer/group_lag.h): a member without partitions reports the records waiting in them, says
// so in /ready (still 200: more members than partitions is fine), and cdc.partition_lag - what
// cdc-api serves - has each partition's end offset, position and since when it is behind.
#include <gtest/gtest.h>
#include <httplib.h>

#include <regex>

#include "common/pg/connection.h"
#include "tests/integration/consumer/consumer_fixture.h"

namespace cdc::testing {
namespace {

using event::Op;

// The sum of cdc_consumer_lag over partitions in a /metrics page (-1 when absent).
int64_t LagOf(const std::string& metrics) {
  static const std::regex kLag(R"re(cdc_consumer_lag\{[^}]*\} (\d+))re");
  int64_t total = -1;
  for (auto it = std::sregex_iterator(metrics.begin(), metrics.end(), kLag);
       it != std::sregex_iterator(); ++it) {
    total = std::max<int64_t>(total, 0) + std::stoll((*it)[1]);
  }
  return total;
}

TEST_F(ConsumerTest, AMemberWithoutPartitionsReportsTheGroupsLag) {
  const event::TableMeta table = OrdersTable();
  const std::string topic = EventWriter::Topic(table);
  broker_.CreateTopic(topic, 1);  // one partition: the second member holds none
  EventWriter writer(broker_.bootstrap(), event::Format::kAvro);
  for (int64_t id = 1; id <= 100; ++id)
    writer.Write(table, OrderEvent(Op::kCreate, id, id, "a", 1));
  writer.Flush();
  const std::string config = ConfigPath();
  ConsumerProcess first({"run", "--config", config}, LogPath());
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic) >= 100; }, std::chrono::seconds(60)));
  const std::string second_log = dir_.path() + "/second.log";
  ConsumerProcess second({"run", "--config", config}, second_log);
  ASSERT_TRUE(WaitUntil([&] { return StatusPort(second_log) > 0; }, std::chrono::seconds(30)));
  httplib::Client status("127.0.0.1", StatusPort(second_log));
  // The first member cannot apply (the replica table is locked): 50 records wait.
  pg::Connection blocker(url_, "blocker");
  blocker.Exec("BEGIN");
  blocker.Exec("LOCK TABLE replica.orders IN ACCESS EXCLUSIVE MODE");
  for (int64_t id = 101; id <= 150; ++id)
    writer.Write(table, OrderEvent(Op::kCreate, id, id, "b", 1));
  writer.Flush();
  std::string metrics;
  EXPECT_TRUE(WaitUntil(
      [&] {
        const auto res = status.Get("/metrics");
        metrics = res ? res->body : "";
        return LagOf(metrics) == 50;
      },
      std::chrono::seconds(30)))
      << "lag of the member without partitions: " << LagOf(metrics);
  const auto ready = status.Get("/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_NE(ready->body.find("holds no partitions while 50 records"), std::string::npos)
      << ready->body;
  EXPECT_EQ(Sql("SELECT end_offset || ':' || next_offset || ':' || (behind_since IS NOT NULL)"
                " FROM cdc.partition_lag WHERE group_id = 'cdc-pg' AND topic = '" +
                topic + "'"),
            "150:100:true");
  blocker.Exec("ROLLBACK");
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic) >= 150; }, std::chrono::seconds(60)));
  EXPECT_TRUE(WaitUntil(
      [&] {
        const auto res = status.Get("/metrics");
        return res && LagOf(res->body) == 0 &&
               Sql("SELECT behind_since IS NULL FROM cdc.partition_lag") == "t";
      },
      std::chrono::seconds(30)));
  EXPECT_EQ(first.Stop(), 0);
  EXPECT_EQ(second.Stop(), 0);
}

}  // namespace
}  // namespace cdc::testing
