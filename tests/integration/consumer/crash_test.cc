// Crashes and group changes: kill -9 the consumer ten times during a 200k-event run (a round of
// 20k events arrives before each start, so every kill lands while it applies), and run two
// consumers in one group of which one is killed mid-run. Each time the final state equals the
// source's, the stored offsets cover every record, the topic lost nothing, and no effect is
// applied twice: a trigger on the target logs every row application, and no (id, seq) appears in
// that log twice. Sanitizer builds use a quarter of the keys (tests/harness/scale.h).
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "tests/integration/consumer/consumer_fixture.h"

namespace cdc::testing {
namespace {

using event::Op;

class ConsumerCrashTest : public ConsumerTest {
 protected:
  // Creates replica.orders through the consumer itself, then a trigger that logs applications.
  void PrepareApplyLog(EventWriter& writer, const std::string& config) {
    writer.Write(OrdersTable(), OrderEvent(Op::kCreate, 0, 1, "seed", 0));
    writer.Flush();
    ConsumerProcess consumer({"run", "--config", config}, LogPath());
    ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic_) >= 1; }, std::chrono::seconds(60)));
    ASSERT_EQ(consumer.Stop(), 0);
    Sql("CREATE TABLE replica.apply_log (id bigint, seq bigint);"
        "CREATE FUNCTION replica.log_apply() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "INSERT INTO replica.apply_log VALUES (NEW.id, NEW._cdc_seq); RETURN NEW; END $$;"
        "CREATE TRIGGER log_apply AFTER INSERT OR UPDATE ON replica.orders FOR EACH ROW "
        "EXECUTE FUNCTION replica.log_apply();");
  }

  // Round `round` of the history: every key inserted (round 0) or updated; returns the number of
  // messages. Seqs grow with the rounds.
  int64_t WriteRound(EventWriter& writer, int64_t keys, int round) {
    for (int64_t id = 1; id <= keys; ++id) {
      writer.Write(OrdersTable(),
                   OrderEvent(round == 0 ? Op::kCreate : Op::kUpdate, id, 2 + round * keys + id,
                              "v" + std::to_string(round), id + round));
    }
    writer.Flush();
    return keys;
  }

  void ExpectExactlyOnce(int64_t keys, int updates) {
    EXPECT_EQ(
        Sql("SELECT count(*), count(*) FILTER (WHERE note = 'v" + std::to_string(updates) +
            "' AND qty = id + " + std::to_string(updates) + ") FROM replica.orders WHERE id > 0"),
        std::to_string(keys) + "|" + std::to_string(keys));
    EXPECT_EQ(Sql("SELECT count(*) FROM (SELECT id, seq FROM replica.apply_log GROUP BY 1, 2 "
                  "HAVING count(*) > 1) twice"),
              "0");
    EXPECT_EQ(Sql("SELECT count(*) FROM cdc.dead_letters"), "0");
    EXPECT_TRUE(TopicComplete(broker_.bootstrap(), topic_));
  }

  const std::string topic_ = "cdc.SHOP.ORDERS";
};

TEST_F(ConsumerCrashTest, KilledTenTimesAppliesEverythingExactlyOnce) {
  // 16 partitions: the dev broker keeps 5 MB per partition, and 200k events must all stay.
  broker_.CreateTopic(topic_, 16);
  EventWriter writer(broker_.bootstrap(), event::Format::kAvro);
  // A shorter session timeout: each restart waits for the killed member's session to expire.
  std::string text = ConsumerConfig(broker_.bootstrap(), url_, "  batch_max_events: 2000\n");
  text.replace(text.find("'6000'"), 6, "'3000'");
  const std::string config = dir_.path() + "/crash.yaml";
  WriteFile(config, text);
  PrepareApplyLog(writer, config);
  const int64_t keys = Scaled(20'000);
  constexpr int kRounds = 10;
  int64_t total = 1;
  std::mt19937 rng(7);
  for (int kill = 0; kill < kRounds; ++kill) {
    total += WriteRound(writer, keys, kill);
    const int64_t start = AppliedThrough(topic_);
    ConsumerProcess consumer({"run", "--config", config}, LogPath());
    // Let it get going (past the group join), then kill it at a random moment of the round.
    ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic_) > start; }, std::chrono::seconds(60)))
        << LogTail();
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 300));
    EXPECT_EQ(consumer.Stop(SIGKILL), 128 + SIGKILL);
  }
  // The last killed consumer may already have applied everything: wait until this one runs
  // (logs "consuming", after its signal handling is set up) before stopping it.
  const auto starts = [&] {
    const std::string log = LogTail(1'000'000);
    size_t count = 0;
    for (size_t at = log.find("\"consuming\""); at != std::string::npos;
         at = log.find("\"consuming\"", at + 1)) {
      ++count;
    }
    return count;
  };
  const size_t starts_before = starts();
  ConsumerProcess consumer({"run", "--config", config}, LogPath());
  ASSERT_TRUE(WaitUntil([&] { return starts() > starts_before; }, std::chrono::seconds(60)))
      << LogTail();
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic_) >= total; }, std::chrono::seconds(180)))
      << AppliedThrough(topic_) << " of " << total << "\n"
      << LogTail();
  EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
  ExpectExactlyOnce(keys, kRounds - 1);
  EXPECT_EQ(AppliedThrough(topic_), total);
  EXPECT_EQ(LogTail(100000).find("records missing from the topic"), std::string::npos);
}

TEST_F(ConsumerCrashTest, TwoMembersOneKilledAppliesEverythingExactlyOnce) {
  broker_.CreateTopic(topic_, 16);
  EventWriter writer(broker_.bootstrap(), event::Format::kAvro);
  const std::string config = ConfigPath("  batch_max_events: 1000\n");
  PrepareApplyLog(writer, config);
  const int64_t keys = Scaled(10'000);
  constexpr int kUpdates = 9;
  const std::string second_config = dir_.path() + "/second.yaml";
  WriteFile(second_config, ConsumerConfig(broker_.bootstrap(), url_, "  batch_max_events: 1000\n"));
  const std::string second_log = dir_.path() + "/second.log";
  ConsumerProcess first({"run", "--config", config}, LogPath());
  ConsumerProcess second({"run", "--config", second_config}, second_log);
  auto assigned = [](const std::string& path) {
    std::ifstream log(path);
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    return text.find("partition assigned") != std::string::npos;
  };
  // Both members hold partitions before the events arrive.
  ASSERT_TRUE(WaitUntil([&] { return assigned(second_log) && assigned(LogPath()); },
                        std::chrono::seconds(60)));
  const int64_t start = AppliedThrough(topic_);
  // Half the history, the second member killed while it applies, then the other half.
  int64_t total = 1;
  for (int round = 0; round <= kUpdates / 2; ++round) total += WriteRound(writer, keys, round);
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic_) > start + keys / 2; },
                        std::chrono::seconds(60)));
  EXPECT_EQ(second.Stop(SIGKILL), 128 + SIGKILL);  // its partitions move to the first member
  for (int round = kUpdates / 2 + 1; round <= kUpdates; ++round) {
    total += WriteRound(writer, keys, round);
  }
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic_) >= total; }, std::chrono::seconds(120)))
      << AppliedThrough(topic_) << " of " << total << "\n"
      << LogTail();
  EXPECT_EQ(first.Stop(), 0);
  ExpectExactlyOnce(keys, kUpdates);
}

}  // namespace
}  // namespace cdc::testing
