// Replay and redrive: replaying a topic from the beginning leaves the tables identical (and
// re-applies no effect); replaying from a time re-reads only later records; a dead letter
// redriven after its cause is fixed is applied once, and a second redrive is a no-op.
#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "common/pg/connection.h"
#include "tests/integration/consumer/consumer_fixture.h"

namespace cdc::testing {
namespace {

using event::Op;

std::string Checksum(const ConsumerTest* test, const PgCluster& cluster) {
  (void)test;
  return cluster.Psql("replica",
                      "SELECT md5(string_agg(concat_ws('|', id, note, amount, qty, _cdc_seq, "
                      "_cdc_op, _cdc_source_ts, _cdc_applied_at), ',' ORDER BY id)) FROM "
                      "replica.orders");
}

TEST_F(ConsumerTest, ReplayFromTheBeginningAndFromATime) {
  EventWriter writer(broker_.bootstrap(), event::Format::kAvro);
  const event::TableMeta table = OrdersTable();
  const std::string topic = writer.Topic(table);
  int64_t seq = 0;
  for (int64_t id = 1; id <= 2000; ++id) {
    writer.Write(table, OrderEvent(Op::kCreate, id, ++seq, "first", id));
  }
  for (int64_t id = 1; id <= 200; ++id)
    writer.Write(table, OrderEvent(Op::kDelete, id, ++seq, {}, 0));
  writer.Flush();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const auto cut = std::chrono::system_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  for (int64_t id = 500; id < 800; ++id) {
    writer.Write(table, OrderEvent(Op::kUpdate, id, ++seq, "later", id));
  }
  writer.Flush();
  const int64_t total = 2000 + 2 * 200 + 300;  // deletes are followed by tombstones
  const std::string config = ConfigPath();
  {
    ConsumerProcess consumer({"run", "--config", config}, LogPath());
    ASSERT_TRUE(
        WaitUntil([&] { return AppliedThrough(topic) >= total; }, std::chrono::seconds(60)));
    EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
  }
  const std::string before = Checksum(this, cluster_);
  EXPECT_EQ(Sql("SELECT count(*) FROM replica.orders"), "1800");

  WriteFile(LogPath(), "");
  {
    ConsumerProcess replay({"replay", "--config", config, "--from-beginning"}, LogPath());
    // Progress goes to stdout (the log stays JSON lines).
    const std::string rewound =
        replay.WaitForOutput("records to re-apply", std::chrono::seconds(60));
    EXPECT_NE(rewound.find(std::to_string(total) + " records to re-apply"), std::string::npos)
        << rewound << LogTail();
    ASSERT_TRUE(
        WaitUntil([&] { return AppliedThrough(topic) >= total; }, std::chrono::seconds(60)));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_EQ(replay.Stop(), 0);
  }
  // The replay's target schema exists: PostgreSQL's notice about it is a JSON log line too.
  EXPECT_GE(ExpectJsonLogLines(), 1);
  // Identical, including _cdc_applied_at: the version guard turned every re-applied event into a
  // no-op, and deleted rows stayed deleted.
  EXPECT_EQ(Checksum(this, cluster_), before);

  const std::string stamp = IsoUtcForTest(cut);
  WriteFile(LogPath(), "");  // the next replay's progress lines only
  {
    ConsumerProcess replay({"replay", "--config", config, "--from-timestamp", stamp}, LogPath());
    const std::string rewound =
        replay.WaitForOutput("records to re-apply", std::chrono::seconds(60));
    EXPECT_NE(rewound.find("; 300 records to re-apply"), std::string::npos) << rewound << LogTail();
    ASSERT_TRUE(
        WaitUntil([&] { return AppliedThrough(topic) >= total; }, std::chrono::seconds(60)));
    EXPECT_EQ(replay.Stop(), 0);
  }
  EXPECT_EQ(Checksum(this, cluster_), before);
  EXPECT_EQ(Sql("SELECT count(*) FROM cdc.dead_letters"), "0");
}

// A replay is unfinished until it reached the end its partitions' logs had when it began: it
// answers /ready 503 until then (never "remaining lag 0" before it knows), and so does a
// consumer of the group started after a replay was stopped early, until it caught up.
TEST_F(ConsumerTest, AReplayIsNotReadyUntilItCaughtUpNorIsAConsumerStartedBeforeThat) {
  EventWriter writer(broker_.bootstrap(), event::Format::kAvro);
  const event::TableMeta table = OrdersTable();
  const std::string topic = writer.Topic(table);
  broker_.CreateTopic(topic, 1);
  for (int64_t id = 1; id <= 500; ++id) {
    writer.Write(table, OrderEvent(Op::kCreate, id, id, "first", id));
  }
  writer.Flush();
  const std::string config = ConfigPath();
  {
    ConsumerProcess consumer({"run", "--config", config}, LogPath());
    ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic) >= 500; }, std::chrono::seconds(60)));
    EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
  }
  // The replica table is locked: nothing can be re-applied yet.
  pg::Connection blocker(url_, "blocker");
  blocker.Exec("BEGIN");
  blocker.Exec("LOCK TABLE replica.orders IN ACCESS EXCLUSIVE MODE");
  // Every /ready answer for `duration` is 503 and says the log is being re-applied.
  auto never_ready = [&](std::chrono::seconds duration) {
    httplib::Client status("127.0.0.1", StatusPort(LogPath()));
    int answers = 0;
    const auto end = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < end) {
      const auto ready = status.Get("/ready");
      if (ready) {
        ++answers;
        EXPECT_EQ(ready->status, 503) << ready->body;
        EXPECT_TRUE(ready->body.find("re-applying its log") != std::string::npos ||
                    ready->body.find("starting") != std::string::npos ||
                    ready->body.find("reading the stored offsets") != std::string::npos)
            << ready->body;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_GT(answers, 10);
  };
  WriteFile(LogPath(), "");
  {
    ConsumerProcess replay({"replay", "--config", config, "--from-beginning"}, LogPath());
    ASSERT_NE(replay.WaitForOutput("500 records to re-apply", std::chrono::seconds(60)), "")
        << LogTail();
    ASSERT_TRUE(WaitUntil([&] { return StatusPort(LogPath()) > 0; }, std::chrono::seconds(30)));
    never_ready(std::chrono::seconds(5));
    // Its progress lines so far (one every 2 s) never claim it is done.
    for (int i = 0; i < 2; ++i) {
      const std::optional<std::string> line = replay.ReadLine(std::chrono::seconds(5));
      ASSERT_TRUE(line.has_value());
      EXPECT_EQ(line->find("remaining lag 0"), std::string::npos) << *line;
    }
    replay.Stop(SIGKILL);  // stopped early
  }
  EXPECT_EQ(Sql("SELECT next_offset || ':' || replay_until FROM cdc.offsets"), "0:500");
  WriteFile(LogPath(), "");
  ConsumerProcess consumer({"run", "--config", config}, LogPath());
  ASSERT_TRUE(WaitUntil([&] { return StatusPort(LogPath()) > 0; }, std::chrono::seconds(30)));
  never_ready(std::chrono::seconds(3));
  blocker.Exec("ROLLBACK");
  EXPECT_TRUE(BecomesReady(StatusPort(LogPath()), std::chrono::seconds(60))) << LogTail();
  EXPECT_EQ(AppliedThrough(topic), 500);
  EXPECT_EQ(Sql("SELECT replay_until IS NULL FROM cdc.offsets"), "t");
  EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
}

TEST_F(ConsumerTest, RedriveAppliesOnceAfterTheCauseIsFixed) {
  EventWriter writer(broker_.bootstrap(), event::Format::kAvro);
  const event::TableMeta table = OrdersTable();
  const std::string topic = writer.Topic(table);
  writer.Write(table, OrderEvent(Op::kCreate, 1, 1, "one", 1));
  writer.Flush();
  const std::string config = ConfigPath();
  {
    ConsumerProcess consumer({"run", "--config", config}, LogPath());
    ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic) >= 1; }, std::chrono::seconds(60)));
    Sql("ALTER TABLE replica.orders ALTER COLUMN note SET NOT NULL");
    writer.Write(table, OrderEvent(Op::kCreate, 2, 2, std::nullopt, 2));
    writer.Write(table, OrderEvent(Op::kCreate, 3, 3, "three", 3));
    writer.Flush();
    ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic) >= 3; }, std::chrono::seconds(60)));
    EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
  }
  const std::string id = Sql("SELECT id FROM cdc.dead_letters");
  ASSERT_FALSE(id.empty());
  {
    ConsumerProcess list({"dlq", "list", "--config", config}, LogPath());
    const std::string out = list.Output();
    EXPECT_NE(out.find(id + "\t" + topic), std::string::npos) << out;
    EXPECT_NE(out.find("constraint\t23502"), std::string::npos) << out;
    EXPECT_EQ(list.Wait(std::chrono::seconds(10)), 0);
  }
  {  // The cause is still there: it fails again and stays open with the new error.
    ConsumerProcess redrive({"dlq", "redrive", "--config", config, "--all"}, LogPath());
    const std::string out = redrive.Output();
    EXPECT_NE(out.find("1 failed again"), std::string::npos) << out;
    EXPECT_EQ(redrive.Wait(std::chrono::seconds(10)), 1);
    EXPECT_EQ(Sql("SELECT redrive_count || ' ' || (redriven_at IS NULL) FROM cdc.dead_letters"),
              "1 true");
  }
  Sql("ALTER TABLE replica.orders ALTER COLUMN note DROP NOT NULL");
  {
    ConsumerProcess redrive({"dlq", "redrive", "--config", config, "--all"}, LogPath());
    const std::string out = redrive.Output();
    EXPECT_NE(out.find("redrive: 1 applied, 0 failed again, 0 skipped"), std::string::npos) << out;
    EXPECT_EQ(redrive.Wait(std::chrono::seconds(10)), 0);
  }
  // The run, the list and both redrives logged JSON only (notices included).
  EXPECT_GE(ExpectJsonLogLines(), 1);
  EXPECT_EQ(Sql("SELECT id || ':' || COALESCE(note, 'NULL') FROM replica.orders ORDER BY id"),
            "1:one\n2:NULL\n3:three");
  const std::string applied_at = Sql("SELECT _cdc_applied_at FROM replica.orders WHERE id = 2");
  {
    ConsumerProcess again({"dlq", "redrive", "--config", config, "--id", id}, LogPath());
    const std::string out = again.Output();
    EXPECT_NE(out.find("already redriven, skipped"), std::string::npos) << out;
    EXPECT_EQ(again.Wait(std::chrono::seconds(10)), 0);
  }
  EXPECT_EQ(Sql("SELECT _cdc_applied_at FROM replica.orders WHERE id = 2"), applied_at);
  EXPECT_EQ(Sql("SELECT redrive_count || ' ' || (redriven_at IS NOT NULL) FROM cdc.dead_letters"),
            "2 true");
}

TEST_F(ConsumerTest, CheckReportsPostgresAndKafka) {
  {
    ConsumerProcess check({"check", "--config", ConfigPath()}, LogPath());
    const std::string out = check.Output();
    EXPECT_NE(out.find("postgres: ok"), std::string::npos) << out;
    EXPECT_NE(out.find("cdc schema not created yet"), std::string::npos) << out;
    EXPECT_NE(out.find("kafka: ok"), std::string::npos) << out;
    EXPECT_EQ(out.find("password"), std::string::npos);
    EXPECT_EQ(check.Wait(std::chrono::seconds(30)), 0);
  }
  cluster_.Stop();
  ConsumerProcess check({"check", "--config", ConfigPath()}, LogPath());
  const std::string out = check.Output();
  EXPECT_NE(out.find("postgres: FAILED"), std::string::npos) << out;
  EXPECT_NE(out.find("check: FAILED"), std::string::npos) << out;
  EXPECT_EQ(check.Wait(std::chrono::seconds(30)), 1);
}

TEST_F(ConsumerTest, ConfigErrorsNameTheKeyAndExitWithCode2) {
  const std::string path = dir_.path() + "/bad.yaml";
  WriteFile(path, ConsumerConfig(broker_.bootstrap(), url_, "  delete_mode: sometimes\n"));
  ConsumerProcess run({"run", "--config", path}, LogPath());
  EXPECT_EQ(run.Wait(std::chrono::seconds(30)), 2);
  EXPECT_NE(LogTail().find("consumer.delete_mode"), std::string::npos) << LogTail();
}

}  // namespace
}  // namespace cdc::testing
