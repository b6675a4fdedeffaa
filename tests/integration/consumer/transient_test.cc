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
  // The lanes back off while PostgreSQL is down; once they are applying again (their
  // connections are up), the kills below land on them.
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough("cdc.SHOP.ORDERS") >= 2 * kRows; },
                        std::chrono::seconds(60)))
      << LogTail();

  // More updates while the consumer's connections are terminated again and again.
  int lanes_killed = 0;
  for (int round = 0; round < 5; ++round) {
    for (int64_t id = 1 + round * 1000; id <= (round + 1) * 1000; ++id) {
      writer.Write(table, OrderEvent(Op::kUpdate, id, ++seq, "v2", id * 2));
    }
    writer.Flush();
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    // Every connection of the consumer: the apply lanes' (cdc-consumer-lane-N, mid-batch) and
    // the loop's own (stored offsets, tombstone purge).
    lanes_killed += std::stoi(
        Sql("SELECT count(*) FILTER (WHERE application_name LIKE 'cdc-consumer-lane-%') FROM "
            "(SELECT application_name, pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
            "application_name LIKE 'cdc-consumer%') AS killed"));
  }
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough("cdc.SHOP.ORDERS") >= 3 * kRows; },
                        std::chrono::seconds(120)))
      << AppliedThrough("cdc.SHOP.ORDERS") << "\n"
      << LogTail();
  EXPECT_GT(lanes_killed, 0);  // batches' connections were among them
  EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
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

// SIGTERM must end the consumer within 10 s even when Kafka is unreachable: leaving the group
// cannot reach the coordinator, and the close gives up instead of waiting out the session.
TEST_F(ConsumerTest, SigtermWithTheBrokerDownExitsWithinTenSeconds) {
  EventWriter writer(broker_.bootstrap(), event::Format::kAvro);
  const event::TableMeta table = OrdersTable();
  for (int64_t id = 1; id <= 100; ++id) {
    writer.Write(table, OrderEvent(Op::kCreate, id, id, "v0", id));
  }
  writer.Flush();
  // The production default session timeout (45 s) is what a close would otherwise wait out.
  std::string config = ConsumerConfig(broker_.bootstrap(), url_);
  config.replace(config.find("session.timeout.ms: '6000'"), 26, "session.timeout.ms: '45000'");
  WriteFile(dir_.File("consumer.yaml"), config);
  ConsumerProcess consumer({"run", "--config", dir_.File("consumer.yaml")}, LogPath());
  ASSERT_TRUE(
      WaitUntil([&] { return AppliedThrough("cdc.SHOP.ORDERS") >= 100; }, std::chrono::seconds(60)))
      << LogTail();
  // The applied offsets reach Kafka as well (asynchronously), so that lag tools see progress.
  const auto kafka_committed = [&] {
    kafka::KafkaSettings settings;
    settings.bootstrap_servers = broker_.bootstrap();
    Logging logging(LogFormat::kText, LogLevel::kWarn);
    kafka::Consumer reader(settings, "cdc-pg", nullptr, logging.Get("reader"));
    std::vector<kafka::TopicPartition> partitions;
    for (const int32_t p : reader.Partitions("cdc.SHOP.ORDERS", std::chrono::seconds(10))) {
      partitions.push_back({"cdc.SHOP.ORDERS", p, 0});
    }
    int64_t sum = 0;
    for (const kafka::TopicPartition& p : reader.Committed(partitions, std::chrono::seconds(10))) {
      sum += std::max<int64_t>(0, p.offset);
    }
    return sum;
  };
  EXPECT_TRUE(WaitUntil([&] { return kafka_committed() == 100; }, std::chrono::seconds(20)))
      << kafka_committed();
  // Kafka goes away while the consumer is busy applying a backlog it has already fetched.
  for (int64_t id = 101; id <= 20'100; ++id) {
    writer.Write(table, OrderEvent(Op::kCreate, id, id, "v0", id));
  }
  writer.Flush();
  ASSERT_TRUE(
      WaitUntil([&] { return AppliedThrough("cdc.SHOP.ORDERS") > 100; }, std::chrono::seconds(60)))
      << LogTail();
  ASSERT_EQ(broker_.Stop(), 0);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(consumer.Stop(), 0) << LogTail();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(10)) << LogTail();
  // What was applied is consistent with the stored offsets.
  EXPECT_EQ(Sql("SELECT count(*) FROM replica.orders"),
            std::to_string(AppliedThrough("cdc.SHOP.ORDERS")));
}

}  // namespace
}  // namespace cdc::testing
