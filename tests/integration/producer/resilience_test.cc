// Tests 3 and 4 of the producer issue: kill -9 ten times during a 200k-change run (every change
// present at least once, the checkpoint never ahead of confirmed delivery; 50k changes under the
// sanitizers, tests/harness/scale.h), and the broker down for 10 s (nothing lost, streaming
// resumes); a fatal Kafka error stops the producer with a non-zero exit and a restart resumes.
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "tests/harness/event_writer.h"
#include "tests/harness/odbc_sources.h"
#include "tests/harness/scale.h"
#include "tests/integration/producer/producer_fixture.h"
#include "tests/integration/producer/sqlite_workload.h"

namespace cdc::testing {
namespace {

const std::vector<std::string> kTables = {"CUSTOMERS", "PRODUCTS", "ORDER_LINES"};
constexpr const char* kTablesYaml =
    "    - name: main.CUSTOMERS\n"
    "    - name: main.PRODUCTS\n"
    "    - name: main.ORDER_LINES\n";

class ResilienceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The mock broker keeps at most 5 MB per partition (older batches are pruned): spread the
    // duplicates that kill -9 produces over enough partitions that nothing is pruned.
    for (const std::string& table : kTables) broker_.CreateTopic("cdc.main." + table, 16);
    workload_ = std::make_unique<SqliteWorkload>(source_.ConnectionString());
    workload_->CreateTables();
    config_ = dir_.File("config.yaml");
    WriteText(config_, ProducerConfig(broker_.bootstrap(), source_.ConnectionString(), kTablesYaml,
                                      "  snapshot: never\n"));
    Process apply({CDC_PRODUCER_PATH, "ddl", "--config", config_, "--apply"}, dir_.File("ddl.log"));
    ASSERT_EQ(apply.Wait(std::chrono::seconds(30)), 0);
  }

  // The tables' topics as the broker had them, for DevBroker::Restart.
  static std::vector<std::string> TopicSpecs() {
    std::vector<std::string> topics;
    for (const std::string& table : kTables) topics.push_back("cdc.main." + table + ":16");
    return topics;
  }

  // The broker loses everything but the checkpoints, which are written back (the checkpoint
  // topic restored without the table topics).
  void RestartKeepingTheCheckpoints() {
    const std::vector<TopicMessage> checkpoints = ReadTopic(broker_.bootstrap(), "_cdc_offsets");
    ASSERT_GE(checkpoints.size(), kTables.size());
    broker_.Restart(std::chrono::milliseconds(0), TopicSpecs());
    EventWriter writer(broker_.bootstrap(), event::Format::kJson);
    for (const TopicMessage& m : checkpoints) writer.WriteRaw("_cdc_offsets", m.key, m.value, {});
    writer.Flush();
  }

  // Waits for `producer` to stop after finding that the broker lost messages it had confirmed;
  // returns its log. (A checkpoint written just before the loss may still reach the new broker:
  // the restart must not trust it - the callers check that it publishes everything again.)
  std::string ExpectStoppedForLostMessages(ProducerProcess& producer, const std::string& log_file) {
    const std::optional<int> rc = producer.Wait(std::chrono::seconds(60));
    EXPECT_TRUE(rc.has_value()) << "the producer kept running after the broker lost its data\n"
                                << Tail(log_file);
    EXPECT_NE(rc.value_or(0), 0);
    const std::string log = Tail(log_file, 300);
    const size_t lost = log.find("the broker lost messages it had confirmed");
    EXPECT_NE(lost, std::string::npos) << log;
    if (lost != std::string::npos) {
      EXPECT_NE(log.find(": confirmed offset ", lost), std::string::npos) << log;
    }
    return log;
  }

  // True when every change-table row of every table is in its topic.
  bool AllPublished() {
    for (const std::string& table : kTables) {
      const std::set<int64_t> expected = Seqs(workload_->connection(), table + "_CT");
      const std::set<int64_t> seen = TopicSeqs(ReadTopic(broker_.bootstrap(), "cdc.main." + table));
      if (!std::includes(seen.begin(), seen.end(), expected.begin(), expected.end())) return false;
    }
    return true;
  }

  DevBroker broker_;
  SqliteSource source_;
  TempDir dir_{"cdc-producer-resilience"};
  std::unique_ptr<SqliteWorkload> workload_;
  std::string config_;
};

TEST_F(ResilienceTest, KilledTenTimesLosesNothingAndCheckpointNeverRunsAhead) {
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    workload_->Run(static_cast<int>(Scaled(200'000)), 1000);
    writing = false;
  });
  auto producer = std::make_unique<ProducerProcess>(config_, dir_.File("producer.log"));
  for (int kill = 0; kill < 10; ++kill) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    producer->Stop(SIGKILL);
    // Whatever the checkpoint says is delivered must be in the topic.
    const int64_t watermark = CheckpointWatermark(broker_.bootstrap(), "main.CUSTOMERS");
    const std::set<int64_t> seen = TopicSeqs(ReadTopic(broker_.bootstrap(), "cdc.main.CUSTOMERS"));
    odbc::Environment environment;
    odbc::Connection reader(environment, source_.ConnectionString() + "Timeout=20000;");
    for (int64_t seq : Seqs(reader, "CUSTOMERS_CT")) {
      if (seq > watermark) break;
      ASSERT_TRUE(seen.count(seq)) << "checkpoint " << watermark << " passes undelivered " << seq;
    }
    producer = std::make_unique<ProducerProcess>(config_, dir_.File("producer.log"));
  }
  writer.join();
  ASSERT_TRUE(WaitFor([&] { return AllPublished(); }, std::chrono::seconds(120)))
      << Tail(dir_.File("producer.log"), 60);
  EXPECT_EQ(producer->Stop(SIGTERM), 0);
}

TEST_F(ResilienceTest, BrokerDownTenSecondsLosesNothing) {
  ProducerProcess producer(config_, dir_.File("producer.log"));
  workload_->Run(5'000);
  ASSERT_TRUE(WaitFor([&] { return AllPublished(); }, std::chrono::seconds(60)));
  broker_.BrokerDown(1);
  workload_->Run(10'000);  // the change table buffers while Kafka is away
  std::this_thread::sleep_for(std::chrono::seconds(10));
  EXPECT_TRUE(producer.running());
  broker_.BrokerUp(1);
  workload_->Run(5'000);
  ASSERT_TRUE(WaitFor([&] { return AllPublished(); }, std::chrono::seconds(120)))
      << Tail(dir_.File("producer.log"));
  EXPECT_EQ(producer.Stop(SIGTERM), 0);
}

// SIGTERM while the broker is down (it accepts connections, answers nothing) and the check after
// the outage waits for it: the producer still ends within its shutdown budget (8 s), and a
// restart once the broker is back publishes what was not delivered.
TEST_F(ResilienceTest, ASigtermWhileTheBrokerIsDownEndsTheProducerInTime) {
  auto producer = std::make_unique<ProducerProcess>(config_, dir_.File("producer.log"));
  workload_->Run(2'000);
  ASSERT_TRUE(WaitFor([&] { return AllPublished(); }, std::chrono::seconds(60)));
  // A first outage: its check passes, and leaves the check's connection to the broker open.
  broker_.BrokerDown(1);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  broker_.BrokerUp(1);
  ASSERT_TRUE(WaitFor(
      [&] {
        return Tail(dir_.File("producer.log"), 200)
                   .find("schemas and confirmed messages checked") != std::string::npos;
      },
      std::chrono::seconds(30)))
      << Tail(dir_.File("producer.log"));
  broker_.BrokerDown(1);
  workload_->Run(1'000);
  std::this_thread::sleep_for(std::chrono::seconds(4));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(producer->Stop(SIGTERM), 0);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(15)) << Tail(dir_.File("producer.log"));
  std::cout << "stopped in " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
            << " ms\n";
  broker_.BrokerUp(1);
  producer = std::make_unique<ProducerProcess>(config_, dir_.File("producer2.log"));
  ASSERT_TRUE(WaitFor([&] { return AllPublished(); }, std::chrono::seconds(60)))
      << Tail(dir_.File("producer2.log"));
  EXPECT_EQ(producer->Stop(SIGTERM), 0);
}

// The broker loses everything (the dev broker keeps topics in memory): the running producer
// publishes its schemas again, finds that messages it had confirmed are gone and stops without
// writing a checkpoint into the new broker; a restart (no checkpoint) re-publishes every change
// its change tables hold.
TEST_F(ResilienceTest, ABrokerThatLostConfirmedMessagesStopsTheProducerAndARestartRepublishes) {
  auto producer = std::make_unique<ProducerProcess>(config_, dir_.File("producer.log"));
  workload_->Run(2'000);
  ASSERT_TRUE(WaitFor([&] { return AllPublished(); }, std::chrono::seconds(60)));
  auto schemas = [&] {
    std::set<std::string> keys;
    for (const TopicMessage& m : ReadTopic(broker_.bootstrap(), "_cdc_schemas")) {
      keys.insert(m.key);
    }
    return keys;
  };
  const std::set<std::string> before = schemas();
  ASSERT_EQ(before.size(), 2 * kTables.size());  // a key and a value schema per table
  broker_.Restart();
  workload_->Run(500);  // the producer goes on publishing into the new broker meanwhile
  const std::string log = ExpectStoppedForLostMessages(*producer, dir_.File("producer.log"));
  EXPECT_NE(log.find("\"schemas_published_again\":6"), std::string::npos) << log;
  EXPECT_EQ(schemas(), before);
  producer = std::make_unique<ProducerProcess>(config_, dir_.File("producer2.log"));
  ASSERT_TRUE(WaitFor([&] { return AllPublished(); }, std::chrono::seconds(120)))
      << Tail(dir_.File("producer2.log"));
  EXPECT_EQ(producer->Stop(SIGTERM), 0);
}

// The broker loses everything and is back after 4 s with the same topics; meanwhile the producer
// queued changes that the new broker accepts at once, so partitions' new logs run past the
// offsets the old one had confirmed (comparing log ends sees nothing there: the confirmed
// messages are read back, confirmed_check_test.cc) and the producer stops as above.
TEST_F(ResilienceTest, ALostLogFilledAgainPastTheConfirmedOffsetsIsNoticed) {
  auto producer = std::make_unique<ProducerProcess>(config_, dir_.File("producer.log"));
  workload_->Run(300);
  ASSERT_TRUE(WaitFor([&] { return AllPublished(); }, std::chrono::seconds(60)));
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    workload_->Run(6'000);  // read and queued by the producer while the broker is away
  });
  broker_.Restart(std::chrono::seconds(4), TopicSpecs());
  writer.join();
  ExpectStoppedForLostMessages(*producer, dir_.File("producer.log"));
  producer = std::make_unique<ProducerProcess>(config_, dir_.File("producer2.log"));
  ASSERT_TRUE(WaitFor([&] { return AllPublished(); }, std::chrono::seconds(120)))
      << Tail(dir_.File("producer2.log"));
  EXPECT_EQ(producer->Stop(SIGTERM), 0);
}

// A slow broker (800 ms a request) dies: the checkpoints the producer wrote in its last seconds
// are still in flight and librdkafka delivers them to the new, empty broker. The producer stops;
// the restart finds that the last messages those checkpoints say were confirmed are gone and
// publishes every change again instead of continuing from them.
TEST_F(ResilienceTest, ACheckpointInFlightWhenTheBrokerDiedIsNotTrusted) {
  auto producer = std::make_unique<ProducerProcess>(config_, dir_.File("producer.log"));
  workload_->Run(2'000);
  ASSERT_TRUE(WaitFor([&] { return AllPublished(); }, std::chrono::seconds(60)));
  broker_.SetRtt(1, 800);
  workload_->Run(1'000);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  broker_.Restart(std::chrono::milliseconds(0), TopicSpecs());
  const std::optional<int> rc = producer->Wait(std::chrono::seconds(60));
  ASSERT_TRUE(rc.has_value()) << Tail(dir_.File("producer.log"));
  EXPECT_NE(*rc, 0);
  int64_t landed = 0;
  for (const std::string& table : kTables) {
    landed += CheckpointWatermark(broker_.bootstrap(), "main." + table) >= 0 ? 1 : 0;
  }
  std::cout << "checkpoints delivered to the new broker: " << landed << " of " << kTables.size()
            << "\n";
  producer = std::make_unique<ProducerProcess>(config_, dir_.File("producer2.log"));
  ASSERT_TRUE(WaitFor([&] { return AllPublished(); }, std::chrono::seconds(120)))
      << Tail(dir_.File("producer2.log"), 60);
  EXPECT_EQ(producer->Stop(SIGTERM), 0);
}

// The checkpoints outlived the messages they cover (the table topics lost while the producer was
// down, the checkpoint topic restored): the last messages the checkpoints say were confirmed are
// not in the broker, so a restart does not trust them and publishes every change again.
TEST_F(ResilienceTest, ACheckpointThatOutlivedItsMessagesIsNotTrusted) {
  auto producer = std::make_unique<ProducerProcess>(config_, dir_.File("producer.log"));
  workload_->Run(2'000);
  ASSERT_TRUE(WaitFor([&] { return AllPublished(); }, std::chrono::seconds(60)));
  EXPECT_EQ(producer->Stop(SIGTERM), 0);
  RestartKeepingTheCheckpoints();
  for (const std::string& table : kTables) {
    ASSERT_GT(CheckpointWatermark(broker_.bootstrap(), "main." + table), 0) << table;
  }
  producer = std::make_unique<ProducerProcess>(config_, dir_.File("producer2.log"));
  ASSERT_TRUE(WaitFor([&] { return AllPublished(); }, std::chrono::seconds(60)))
      << Tail(dir_.File("producer2.log"), 60);
  const std::string log = Tail(dir_.File("producer2.log"), 400);
  EXPECT_NE(log.find("the broker no longer holds messages that checkpoints cover"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("\"tables\":\"main.CUSTOMERS, main.ORDER_LINES, main.PRODUCTS\""),
            std::string::npos)
      << log;
  EXPECT_EQ(producer->Stop(SIGTERM), 0);
}

// The same with producer.purge: the change rows are gone, so the tables are backfilled - every
// row of each table is published again as a snapshot read.
TEST_F(ResilienceTest, APurgedTableWhoseCheckpointOutlivedItsMessagesIsBackfilled) {
  const std::string config = dir_.File("purge.yaml");
  WriteText(config, ProducerConfig(broker_.bootstrap(), source_.ConnectionString(), kTablesYaml,
                                   "  snapshot: never\n  purge: true\n  purge_interval_ms: 200\n"));
  auto producer = std::make_unique<ProducerProcess>(config, dir_.File("producer.log"));
  workload_->Run(2'000);
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const std::string& table : kTables) {
          if (!Seqs(workload_->connection(), table + "_CT").empty()) return false;
        }
        return true;
      },
      std::chrono::seconds(60)))
      << Tail(dir_.File("producer.log"));
  EXPECT_EQ(producer->Stop(SIGTERM), 0);
  RestartKeepingTheCheckpoints();
  producer = std::make_unique<ProducerProcess>(config, dir_.File("producer2.log"));
  for (const std::string& table : kTables) {
    const size_t rows =
        std::stoul(*Query(workload_->connection(), "SELECT COUNT(*) FROM " + table)[0][0]);
    ASSERT_GT(rows, 0u);
    std::set<std::string> read;
    ASSERT_TRUE(WaitFor(
        [&] {
          read.clear();
          for (const TopicMessage& m : ReadTopic(broker_.bootstrap(), "cdc.main." + table)) {
            if (m.value && m.op() == "r") read.insert(m.key);
          }
          return read.size() == rows;
        },
        std::chrono::seconds(60)))
        << table << ": " << read.size() << " of " << rows << " rows backfilled\n"
        << Tail(dir_.File("producer2.log"), 60);
  }
  EXPECT_EQ(producer->Stop(SIGTERM), 0);
}

TEST_F(ResilienceTest, FatalKafkaErrorExitsNonZeroAndRestartResumes) {
  workload_->Run(2'000);
  // Refused producer id (an authorization failure) is fatal for an idempotent producer.
  broker_.PushErrors("InitProducerId", "CLUSTER_AUTHORIZATION_FAILED", 1);
  auto producer = std::make_unique<ProducerProcess>(config_, dir_.File("producer.log"));
  const std::optional<int> rc = producer->Wait(std::chrono::seconds(60));
  ASSERT_TRUE(rc.has_value()) << "the producer kept running after a fatal error\n"
                              << Tail(dir_.File("producer.log"));
  EXPECT_NE(*rc, 0);
  EXPECT_NE(Tail(dir_.File("producer.log")).find("\"fatal\":true"), std::string::npos)
      << Tail(dir_.File("producer.log"));
  // A restart resumes: nothing is lost.
  producer = std::make_unique<ProducerProcess>(config_, dir_.File("producer2.log"));
  ASSERT_TRUE(WaitFor([&] { return AllPublished(); }, std::chrono::seconds(60)))
      << Tail(dir_.File("producer2.log"));
  EXPECT_EQ(producer->Stop(SIGTERM), 0);
}

// Kafka refuses a topic (a missing ACL): the producer stops rather than skip the changes, and a
// restart (the ACL granted) resumes from the checkpoint with nothing lost (README, Operations).
TEST_F(ResilienceTest, ARefusedTopicStopsTheProducerAndARestartResumes) {
  auto producer = std::make_unique<ProducerProcess>(config_, dir_.File("producer.log"));
  workload_->Run(2'000);
  ASSERT_TRUE(WaitFor([&] { return AllPublished(); }, std::chrono::seconds(60)));
  broker_.PushErrors("Produce", "TOPIC_AUTHORIZATION_FAILED", 1);
  workload_->Run(2'000);
  const std::optional<int> rc = producer->Wait(std::chrono::seconds(60));
  ASSERT_TRUE(rc.has_value()) << "the producer kept running after a refused topic\n"
                              << Tail(dir_.File("producer.log"));
  EXPECT_NE(*rc, 0);
  EXPECT_NE(Tail(dir_.File("producer.log"), 200).find("TOPIC_AUTHORIZATION_FAILED"),
            std::string::npos)
      << Tail(dir_.File("producer.log"));
  producer = std::make_unique<ProducerProcess>(config_, dir_.File("producer2.log"));
  ASSERT_TRUE(WaitFor([&] { return AllPublished(); }, std::chrono::seconds(60)))
      << Tail(dir_.File("producer2.log"));
  EXPECT_EQ(producer->Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace cdc::testing
