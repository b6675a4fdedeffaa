// Transient failures are retried, never dead-lettered: PostgreSQL stopped for 10 s and started
// again, and the consumer's backend terminated during batches -> nothing lost, nothing
// dead-lettered, final state equal to the source's.
#include <gtest/gtest.h>

#include <thread>

#include "tests/integration/consumer/consumer_fixture.h"

namespace cdc::testing {
namespace {

using event::Op;

TEST_F(ConsumerTest, DatabaseOutagesAndKilledBackendsLoseNothing) {
  EventWriter writer(broker_.bootstrap(), event::Format::kAvro);
  const event::TableMeta table = OrdersTable();
  constexpr int64_t kRows = 5000;
  int64_t seq = 0;
  for (int64_t id = 1; id <= kRows; ++id) {
    writer.Write(table, OrderEvent(Op::kCreate, id, ++seq, "v0", id));
  }
  writer.Flush();
  ConsumerProcess consumer(
      {"run", "--config", ConfigPath("  batch_max_events: 500\n  unhealthy_after_ms: 2000\n")},
      LogPath());
  ASSERT_TRUE(
      WaitUntil([&] { return AppliedThrough("cdc.SHOP.ORDERS") > 0; }, std::chrono::seconds(60)));

  // PostgreSQL goes away for 10 s while updates keep arriving.
  cluster_.Stop();
  for (int64_t id = 1; id <= kRows; ++id) {
    writer.Write(table, OrderEvent(Op::kUpdate, id, ++seq, "v1", id));
  }
  writer.Flush();
  std::this_thread::sleep_for(std::chrono::seconds(10));
  cluster_.Start();

  // More updates while the consumer's connections are terminated again and again.
  for (int round = 0; round < 5; ++round) {
    for (int64_t id = 1 + round * 1000; id <= (round + 1) * 1000; ++id) {
      writer.Write(table, OrderEvent(Op::kUpdate, id, ++seq, "v2", id * 2));
    }
    writer.Flush();
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    Sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name "
        "= 'cdc-consumer'");
  }
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough("cdc.SHOP.ORDERS") >= 3 * kRows; },
                        std::chrono::seconds(120)))
      << AppliedThrough("cdc.SHOP.ORDERS") << "\n"
      << LogTail();
  EXPECT_EQ(consumer.Stop(), 0);
  EXPECT_EQ(
      Sql("SELECT count(*), count(*) FILTER (WHERE note = 'v2' AND qty = id * 2), max(_cdc_seq) "
          "FROM replica.orders"),
      "5000|5000|" + std::to_string(seq));
  EXPECT_EQ(Sql("SELECT count(*) FROM cdc.dead_letters"), "0");
  // The log shows the retries.
  std::ifstream log(LogPath());
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("batch rolled back; retrying"), std::string::npos);
}

}  // namespace
}  // namespace cdc::testing
