// A partition's stored position is only good in the log it was taken from
// (consumer/consumer_loop.h). The dev broker keeps topics in memory, so restarting it is the real
// thing for a topic re-created (or a cluster lost) and written again: here the new log grows past
// the stored position, the case that used to be skipped in silence. `stop` (the default) leaves
// the replica and the stored offsets as they were, with an ERROR, a metric and /ready false - on
// the running consumer and again after a restart; `replay` applies the new log from its start.
// A consumer restart or a broker outage without data loss is checked and passes.
#include <gtest/gtest.h>
#include <httplib.h>

#include <sstream>

#include "common/pg/connection.h"
#include "tests/integration/consumer/consumer_fixture.h"

namespace cdc::testing {
namespace {

using event::Op;

constexpr int64_t kOld = 200;  // records in the first log: creates of ids 1..200
// In the second: creates of ids 1..300, deletes of ids 1..20, each followed by its tombstone.
constexpr int64_t kNew = 340;

class OffsetResetTest : public ConsumerTest {
 protected:
  // JSON events: the schemas topic goes with the broker, and this is not about the registry.
  std::string Config(const std::string& extra = "") { return ConfigPath(extra, "json"); }

  void WriteOldLog() {
    broker_.CreateTopic(topic_, 1);
    EventWriter writer(broker_.bootstrap(), event::Format::kJson);
    for (int64_t id = 1; id <= kOld; ++id) {
      writer.Write(table_, OrderEvent(Op::kCreate, id, id, "old", 1));
    }
    writer.Flush();
  }

  // The broker loses everything; the topic comes back with a longer, different log (the
  // source's changes published again, later ones included).
  void ReplaceLog() {
    broker_.Restart();
    broker_.CreateTopic(topic_, 1);
    EventWriter writer(broker_.bootstrap(), event::Format::kJson);
    for (int64_t id = 1; id <= 300; ++id) {
      writer.Write(table_, OrderEvent(Op::kCreate, id, 1000 + id, "new", 2));
    }
    for (int64_t id = 1; id <= 20; ++id) {
      writer.Write(table_, OrderEvent(Op::kDelete, id, 2000 + id, "new", 2));
    }
    writer.Flush();
  }

  std::string Rows() {
    return Sql(
        "SELECT count(*) || ' rows, ' || count(*) FILTER (WHERE note = 'old') || ' old, ' ||"
        " COALESCE(min(id), 0) || '..' || COALESCE(max(id), 0) FROM replica.orders");
  }

  // The offset-reset count of topic_ in the consumer's /metrics (-1 when unreadable).
  int64_t Resets(httplib::Client& status) {
    const auto res = status.Get("/metrics");
    if (!res) return -1;
    static const std::regex kResets(
        R"re(cdc_consumer_offset_resets_total\{topic="([^"]*)",reason="[a-z_]+"\} (\d+))re");
    int64_t total = 0;
    for (auto it = std::sregex_iterator(res->body.begin(), res->body.end(), kResets);
         it != std::sregex_iterator(); ++it) {
      if ((*it)[1] == topic_) total += std::stoll((*it)[2]);
    }
    return total;
  }

  const event::TableMeta table_ = OrdersTable();
  const std::string topic_ = EventWriter::Topic(table_);
};

TEST_F(OffsetResetTest, StopLeavesTheReplicaAndOffsetsAloneWhileRunningAndAfterARestart) {
  WriteOldLog();
  {
    ConsumerProcess consumer({"run", "--config", Config()}, LogPath());
    ASSERT_TRUE(
        WaitUntil([&] { return AppliedThrough(topic_) >= kOld; }, std::chrono::seconds(60)));
    ASSERT_TRUE(WaitUntil([&] { return StatusPort(LogPath()) > 0; }, std::chrono::seconds(30)));
    httplib::Client status("127.0.0.1", StatusPort(LogPath()));
    ReplaceLog();
    ASSERT_TRUE(WaitUntil([&] { return Resets(status) >= 1; }, std::chrono::seconds(90)))
        << LogTail(60);
    const auto ready = status.Get("/ready");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 503);
    EXPECT_NE(ready->body.find(topic_ + "[0] stopped"), std::string::npos) << ready->body;
    std::this_thread::sleep_for(std::chrono::seconds(3));
    EXPECT_EQ(Rows(), "200 rows, 200 old, 1..200");
    EXPECT_EQ(AppliedThrough(topic_), kOld);
    EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
  }
  // Restarted, it checks the record before its position, finds another one, and stops again.
  WriteFile(LogPath(), "");
  {
    ConsumerProcess consumer({"run", "--config", Config()}, LogPath());
    ASSERT_TRUE(WaitUntil([&] { return StatusPort(LogPath()) > 0; }, std::chrono::seconds(30)));
    httplib::Client status("127.0.0.1", StatusPort(LogPath()));
    ASSERT_TRUE(WaitUntil([&] { return Resets(status) >= 1; }, std::chrono::seconds(90)))
        << LogTail(60);
    std::this_thread::sleep_for(std::chrono::seconds(2));
    EXPECT_EQ(Rows(), "200 rows, 200 old, 1..200");
    EXPECT_EQ(AppliedThrough(topic_), kOld);
    EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
  }
  const std::string log = LogTail(400);
  const size_t error = log.find("holds another record before the stored position");
  ASSERT_NE(error, std::string::npos) << log;
  EXPECT_NE(log.find("\"stored_offset\":200", error), std::string::npos) << log;
  EXPECT_NE(log.find("\"fetch_offset\":199", error), std::string::npos) << log;
  EXPECT_NE(log.find("\"log_end\":" + std::to_string(kNew), error), std::string::npos) << log;

  // The runbook's repair: replay the topic from its start.
  WriteFile(LogPath(), "");
  ConsumerProcess consumer({"run", "--config", Config("  on_offset_reset: replay\n")}, LogPath());
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic_) >= kNew; }, std::chrono::seconds(60)))
      << LogTail(60);
  EXPECT_EQ(Rows(), "280 rows, 0 old, 21..300");
  EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
  EXPECT_EQ(AppliedThrough(topic_), kNew);
}

TEST_F(OffsetResetTest, ReplayAppliesTheNewLogFromItsStartAndTheOffsetsFollowIt) {
  WriteOldLog();
  ConsumerProcess consumer({"run", "--config", Config("  on_offset_reset: replay\n")}, LogPath());
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic_) >= kOld; }, std::chrono::seconds(60)));
  ASSERT_TRUE(WaitUntil([&] { return StatusPort(LogPath()) > 0; }, std::chrono::seconds(30)));
  httplib::Client status("127.0.0.1", StatusPort(LogPath()));
  ReplaceLog();
  ASSERT_TRUE(WaitUntil([&] { return Resets(status) >= 1; }, std::chrono::seconds(90)))
      << LogTail(60);
  // 0 skipped: every id of the new log is there, the deleted ones are gone, nothing old is left.
  ASSERT_TRUE(
      WaitUntil([&] { return Rows() == "280 rows, 0 old, 21..300"; }, std::chrono::seconds(60)))
      << Rows() << "\n"
      << LogTail(60);
  EXPECT_TRUE(WaitUntil([&] { return AppliedThrough(topic_) == kNew; }, std::chrono::seconds(30)))
      << AppliedThrough(topic_);
  EXPECT_TRUE(BecomesReady(StatusPort(LogPath()), std::chrono::seconds(30)));
  EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
  EXPECT_NE(LogTail(400).find("replaying the partition from the log's start"), std::string::npos);
}

TEST_F(OffsetResetTest, ARestartOrABrokerOutageWithoutDataLossIsCheckedAndPasses) {
  WriteOldLog();
  {
    ConsumerProcess consumer({"run", "--config", Config()}, LogPath());
    ASSERT_TRUE(
        WaitUntil([&] { return AppliedThrough(topic_) >= kOld; }, std::chrono::seconds(60)));
    EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
  }
  WriteFile(LogPath(), "");
  ConsumerProcess consumer({"run", "--config", Config()}, LogPath());
  ASSERT_TRUE(WaitUntil([&] { return StatusPort(LogPath()) > 0; }, std::chrono::seconds(30)));
  httplib::Client status("127.0.0.1", StatusPort(LogPath()));
  ASSERT_TRUE(WaitUntil([&] { return LogTail(200).find("\"checked\":true") != std::string::npos; },
                        std::chrono::seconds(30)))
      << LogTail(60);
  broker_.BrokerDown(1);
  ASSERT_TRUE(WaitUntil(
      [&] { return LogTail(400).find("every broker was unreachable") != std::string::npos; },
      std::chrono::seconds(60)))
      << LogTail(60);
  broker_.BrokerUp(1);
  EventWriter writer(broker_.bootstrap(), event::Format::kJson);
  for (int64_t id = 1; id <= 50; ++id) {
    writer.Write(table_, OrderEvent(Op::kUpdate, id, 500 + id, "later", 3));
  }
  writer.Flush();
  ASSERT_TRUE(
      WaitUntil([&] { return AppliedThrough(topic_) >= kOld + 50; }, std::chrono::seconds(60)))
      << LogTail(60);
  EXPECT_EQ(Resets(status), 0);
  const auto ready = status.Get("/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;
  EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
  EXPECT_EQ(Sql("SELECT count(*) FILTER (WHERE note = 'later') || ' later, ' ||"
                " count(*) FILTER (WHERE note = 'old') || ' old' FROM replica.orders"),
            "50 later, 150 old");
  // No error of the consumer's own (librdkafka's connection failures, with a facility, are
  // expected while the broker is down).
  std::istringstream log(LogTail(2000));
  for (std::string line; std::getline(log, line);) {
    if (line.find("\"level\":\"error\"") == std::string::npos) continue;
    EXPECT_NE(line.find("\"facility\""), std::string::npos) << line;
  }
}

// A log that ends before the position - empty, or one record short - shows no record that could
// differ: the position is compared with the log's range, and the reset is reported at once.
TEST_F(OffsetResetTest, ALogEndingBeforeThePositionIsReportedWithoutANewRecord) {
  WriteOldLog();
  ConsumerProcess consumer({"run", "--config", Config()}, LogPath());
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic_) >= kOld; }, std::chrono::seconds(60)));
  ASSERT_TRUE(WaitUntil([&] { return StatusPort(LogPath()) > 0; }, std::chrono::seconds(30)));
  httplib::Client status("127.0.0.1", StatusPort(LogPath()));
  broker_.Restart();
  broker_.CreateTopic(topic_, 1);
  {
    EventWriter writer(broker_.bootstrap(), event::Format::kJson);
    for (int64_t id = 1; id < kOld; ++id) {  // one short of the stored position
      writer.Write(table_, OrderEvent(Op::kCreate, id, 1000 + id, "new", 2));
    }
    writer.Flush();
  }
  ASSERT_TRUE(WaitUntil([&] { return Resets(status) >= 1; }, std::chrono::seconds(60)))
      << LogTail(60);
  const auto ready = status.Get("/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  // Reported as soon as the consumer could read the new log's range: empty, or one record short.
  EXPECT_NE(ready->body.find("beyond_log_end (stored offset 200, log 0.."), std::string::npos)
      << ready->body;
  EXPECT_EQ(Rows(), "200 rows, 200 old, 1..200");
  EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
}

// A topic re-created with fewer partitions: the stored offsets of the partitions that are gone
// are reported (stop) and forgotten by a replay.
TEST_F(OffsetResetTest, APartitionThatNoLongerExistsIsReportedAndForgottenByAReplay) {
  broker_.CreateTopic(topic_, 2);
  {
    EventWriter writer(broker_.bootstrap(), event::Format::kJson);
    for (int64_t id = 1; id <= kOld; ++id) {
      writer.Write(table_, OrderEvent(Op::kCreate, id, id, "old", 1));
    }
    writer.Flush();
  }
  const std::string partitions =
      "SELECT string_agg(partition || ':' || (next_offset > 0), ',' ORDER BY partition)"
      " FROM cdc.offsets WHERE topic = '" +
      topic_ + "'";
  {
    ConsumerProcess consumer({"run", "--config", Config()}, LogPath());
    ASSERT_TRUE(
        WaitUntil([&] { return AppliedThrough(topic_) >= kOld; }, std::chrono::seconds(60)));
    EXPECT_EQ(Sql(partitions), "0:true,1:true");
    broker_.Restart();
    broker_.CreateTopic(topic_, 1);
    EventWriter writer(broker_.bootstrap(), event::Format::kJson);
    for (int64_t id = 1; id <= 300; ++id) {
      writer.Write(table_, OrderEvent(Op::kCreate, id, 1000 + id, "new", 2));
    }
    writer.Flush();
    ASSERT_TRUE(WaitUntil([&] { return StatusPort(LogPath()) > 0; }, std::chrono::seconds(30)));
    httplib::Client status("127.0.0.1", StatusPort(LogPath()));
    ASSERT_TRUE(WaitUntil(
        [&] {
          const auto ready = status.Get("/ready");
          return ready &&
                 ready->body.find("[1] no longer exists: partition_gone") != std::string::npos;
        },
        std::chrono::seconds(60)))
        << LogTail(60);
    EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
  }
  // The runbook's replay forgets it.
  ConsumerProcess replay({"replay", "--config", Config(), "--from-beginning"},
                         dir_.path() + "/replay.log");
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic_) >= 300; }, std::chrono::seconds(60)))
      << TailFile(dir_.path() + "/replay.log", 40);
  EXPECT_EQ(replay.Stop(), 0);
  EXPECT_EQ(Sql(partitions), "0:true");
  EXPECT_EQ(Rows(), "300 rows, 0 old, 1..300");
}

// kill -9 while a partition is re-applied after an offset reset: the restarted consumer knows the
// replay is not done (cdc.offsets.replay_until) and says so until it is.
TEST_F(OffsetResetTest, AReplayInterruptedByKillNineIsStillReportedAfterTheRestart) {
  WriteOldLog();
  const std::string config =
      Config("  on_offset_reset: replay\n  batch_max_events: 20\n  apply_lanes: 1\n");
  auto consumer = std::make_unique<ConsumerProcess>(
      std::vector<std::string>{"run", "--config", config}, LogPath());
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic_) >= kOld; }, std::chrono::seconds(60)));
  EXPECT_EQ(consumer->Stop(), 0);
  // The replica table is locked: the replay cannot apply anything before the kill.
  pg::Connection blocker(url_, "blocker");
  blocker.Exec("BEGIN");
  blocker.Exec("LOCK TABLE replica.orders IN ACCESS EXCLUSIVE MODE");
  ReplaceLog();
  consumer = std::make_unique<ConsumerProcess>(std::vector<std::string>{"run", "--config", config},
                                               LogPath());
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic_) < kOld; }, std::chrono::seconds(60)))
      << LogTail(60);
  EXPECT_EQ(Sql("SELECT next_offset || ':' || replay_until FROM cdc.offsets WHERE topic = '" +
                topic_ + "'"),
            "0:" + std::to_string(kNew));
  consumer->Stop(SIGKILL);
  blocker.Exec("ROLLBACK");
  ASSERT_LT(AppliedThrough(topic_), kNew);
  WriteFile(LogPath(), "");
  consumer = std::make_unique<ConsumerProcess>(std::vector<std::string>{"run", "--config", config},
                                               LogPath());
  ASSERT_TRUE(WaitUntil([&] { return StatusPort(LogPath()) > 0; }, std::chrono::seconds(30)));
  httplib::Client status("127.0.0.1", StatusPort(LogPath()));
  // Not ready at any moment before it caught up: not while it joins the group either.
  bool said_replaying = false;
  std::string ready_early;
  ASSERT_TRUE(WaitUntil(
      [&] {
        const auto ready = status.Get("/ready");
        if (ready && ready->status == 503 &&
            ready->body.find("re-applying its log") != std::string::npos) {
          said_replaying = true;
        }
        const int64_t applied = AppliedThrough(topic_);
        if (ready && ready->status == 200 && applied < kNew && ready_early.empty()) {
          ready_early = "ready at offset " + std::to_string(applied) + ": " + ready->body;
        }
        return applied == kNew;
      },
      std::chrono::seconds(60)))
      << LogTail(60);
  EXPECT_TRUE(said_replaying);
  EXPECT_EQ(ready_early, "");
  EXPECT_TRUE(BecomesReady(StatusPort(LogPath()), std::chrono::seconds(30)));
  EXPECT_EQ(Sql("SELECT replay_until IS NULL FROM cdc.offsets WHERE topic = '" + topic_ + "'"),
            "t");
  EXPECT_EQ(Rows(), "280 rows, 0 old, 21..300");
  EXPECT_EQ(consumer->Stop(), 0) << LogTail(80);
}

}  // namespace
}  // namespace cdc::testing
