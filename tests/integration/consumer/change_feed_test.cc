// consumer.change_feed: off (the default), target tables have no index on _cdc_seq and updates are
// HOT (in place, no new index entries); on, the change-feed index is made, for new tables and for
// tables made without it, and updates can no longer be HOT.
#include <gtest/gtest.h>

#include "tests/integration/consumer/consumer_fixture.h"

namespace cdc::testing {
namespace {

using event::Op;

constexpr const char* kTopic = "cdc.SHOP.ORDERS";

class ChangeFeedTest : public ConsumerTest {
 protected:
  // Writes `events` (the first call creates the topic: write before starting a consumer, whose
  // pattern subscription sees only the topics that exist when it starts).
  void Write(EventWriter& writer, const std::vector<event::ChangeEvent>& events) {
    for (const event::ChangeEvent& e : events) writer.Write(OrdersTable(), e);
    writer.Flush();
    written_ += static_cast<int64_t>(events.size());
  }
  // Waits until the consumer has applied everything written so far.
  void WaitApplied() {
    ASSERT_TRUE(
        WaitUntil([&] { return AppliedThrough(kTopic) >= written_; }, std::chrono::seconds(60)))
        << LogTail();
  }
  // Inserts of ids 1..`rows`, written (not waited for).
  void Create(EventWriter& writer, int64_t rows) {
    std::vector<event::ChangeEvent> events;
    for (int64_t id = 1; id <= rows; ++id) {
      events.push_back(OrderEvent(Op::kCreate, id, ++seq_, "a", 1));
    }
    Write(writer, events);
  }
  // Rounds of updates of ids 1..`rows`, each applied before the next is written (a batch keeps
  // only the newest change per key).
  void UpdateRounds(EventWriter& writer, int64_t rows, int rounds) {
    for (int round = 0; round < rounds; ++round) {
      std::vector<event::ChangeEvent> events;
      for (int64_t id = 1; id <= rows; ++id) {
        ++seq_;
        events.push_back(OrderEvent(Op::kUpdate, id, seq_, "v" + std::to_string(round), 2));
      }
      Write(writer, events);
      WaitApplied();
    }
  }
  // pg_stat_user_tables' "n_tup_upd n_tup_hot_upd" of replica.orders once it has counted
  // `updates` (backends report their counts at exit, or within a second or so).
  std::string UpdateCounts(int64_t updates) {
    const std::string sql =
        "SELECT n_tup_upd || ' ' || n_tup_hot_upd FROM pg_stat_user_tables WHERE relid = "
        "'replica.orders'::regclass";
    WaitUntil([&] { return Sql(sql).rfind(std::to_string(updates) + " ", 0) == 0; },
              std::chrono::seconds(20));
    return Sql(sql);
  }

  int64_t written_ = 0;
  int64_t seq_ = 0;
};

TEST_F(ChangeFeedTest, WithoutTheChangeFeedUpdatesAreHot) {
  EventWriter writer(broker_.bootstrap(), event::Format::kAvro);
  Create(writer, 300);
  ConsumerProcess consumer({"run", "--config", ConfigPath()}, LogPath());
  WaitApplied();
  UpdateRounds(writer, 300, 4);
  EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);  // its backends report their counts on exit
  // With an index on _cdc_seq none of the 1,200 could be HOT. Here each batch updates every row
  // of its pages, and a page has room for 15% more versions until the next round prunes the dead
  // ones, so not all are (~70% measured; updates spread over a larger table do better).
  const std::string counts = UpdateCounts(1200);
  ASSERT_EQ(counts.substr(0, 5), "1200 ") << counts;
  EXPECT_GE(std::stoll(counts.substr(5)), 600) << counts;
}

TEST_F(ChangeFeedTest, TurningItOnIndexesExistingTablesAndUpdatesStopBeingHot) {
  EventWriter writer(broker_.bootstrap(), event::Format::kAvro);
  Create(writer, 100);
  const std::string index_count =
      "SELECT count(*) FROM pg_indexes WHERE schemaname = 'replica' AND indexname = "
      "'orders__cdc_seq'";
  {
    ConsumerProcess consumer({"run", "--config", ConfigPath()}, LogPath());
    WaitApplied();
    EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
  }
  EXPECT_EQ(Sql(index_count), "0");
  WriteFile(LogPath(), "");
  ConsumerProcess consumer({"run", "--config", ConfigPath("  change_feed: true\n")}, LogPath());
  UpdateRounds(writer, 100, 2);
  EXPECT_EQ(Sql(index_count), "1");
  EXPECT_NE(LogTail(200).find("created the change-feed index"), std::string::npos) << LogTail();
  EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
  // Every update changed the indexed _cdc_seq: none was HOT.
  EXPECT_EQ(UpdateCounts(200), "200 0");
}

}  // namespace
}  // namespace cdc::testing
