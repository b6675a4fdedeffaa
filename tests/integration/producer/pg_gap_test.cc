// Gap rules on PostgreSQL, with the table worker in this process: a gap waits exactly as long as
// a transaction that could fill it is open - the three sessions (a transaction newer than
// every completed one holds the gap) and their mirror included - and is given up once they ended;
// only a permission error makes a table fall back to the timeout, never a lost connection.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "tests/integration/producer/pg_source_fixture.h"

namespace cdc::testing {
namespace {

TEST_F(PgGapTest, TransactionOpenLongerThanTheGapTimeoutLosesNothing) {
  InProcessStream stream(config_path_, broker_.bootstrap());
  std::unique_ptr<pqxx::work> held = HoldSeqTwoPastTheTimeout(stream);
  held->commit();
  ASSERT_TRUE(WaitFor([&] { return stream.Watermark() == 3; }, std::chrono::seconds(30)));
  EXPECT_EQ(stream.Expired(), 0);
  stream.Stop();
  EXPECT_EQ(TopicSeqs(ReadTopic(broker_.bootstrap(), "orders")), (std::set<int64_t>{1, 2, 3}));
}

TEST_F(PgGapTest, GapThatNeverFillsIsGivenUpOnceItsTransactionEndsAndStreamingGoesOn) {
  InProcessStream stream(config_path_, broker_.bootstrap());
  std::unique_ptr<pqxx::work> held = HoldSeqTwoPastTheTimeout(stream);
  const Clock::Duration aborted_at = stream.clock().TotalSlept();
  held->abort();  // seq 2 will never commit
  ASSERT_TRUE(WaitBriefly([&] { return stream.Expired() >= 1; }));
  EXPECT_EQ(stream.Closed(), 1);
  EXPECT_EQ(stream.TimedOut(), 0);
  // Given up a few polls after the rollback, not a gap timeout later.
  EXPECT_LT(stream.clock().TotalSlept() - aborted_at, stream.settings().stream.gap_timeout);
  Commit("INSERT INTO shop.orders VALUES (4, 4.00, 'after the gap')");  // CDC_SEQ 4
  ASSERT_TRUE(WaitFor([&] { return stream.Watermark() == 4; }, std::chrono::seconds(30)));
  stream.Stop();
  EXPECT_EQ(TopicSeqs(ReadTopic(broker_.bootstrap(), "orders")), (std::set<int64_t>{1, 3, 4}));
}

// The three sessions, in a fixed order: session 2 starts first (the older transaction
// id); session 1 takes change-table numbers and stays open; session 2 commits a number above
// them. PostgreSQL's snapshot then lists neither: session 1's id is above xmax (the latest
// completed id + 1). The gap must stay open however many polls pass, and the rows arrive when
// session 1 commits.
TEST_F(PgGapTest, GapHeldByATransactionNewerThanEveryCompletedOneWaitsForIt) {
  InProcessStream stream(config_path_, broker_.bootstrap());
  Commit("INSERT INTO shop.orders VALUES (1, 1.00, 'first')");  // CDC_SEQ 1
  ASSERT_TRUE(WaitBriefly([&] { return stream.Watermark() == 1; }));
  pqxx::connection older_connection(url_);
  pqxx::work older(older_connection);
  older.exec("SELECT txid_current()");  // session 2: the older transaction id
  pqxx::connection newer_connection(url_);
  pqxx::work newer(newer_connection);
  newer.exec("INSERT INTO shop.orders VALUES (10, 1, 'a'), (11, 1, 'b'), (12, 1, 'c')");  // 2..4
  older.exec("INSERT INTO shop.orders VALUES (20, 2.00, 'older')");                       // 5
  older.commit();
  ASSERT_TRUE(WaitBriefly([&] { return stream.Published() >= 2 && stream.Idle(); }));
  ASSERT_TRUE(stream.LetPass(2 * stream.settings().stream.gap_timeout));
  EXPECT_EQ(stream.Expired(), 0) << "the gap was given up while session 1 was open";
  EXPECT_EQ(stream.Watermark(), 1);
  newer.commit();
  ASSERT_TRUE(WaitFor([&] { return stream.Watermark() == 5; }, std::chrono::seconds(30)));
  EXPECT_EQ(stream.Expired(), 0);
  stream.Stop();
  const std::vector<TopicMessage> topic = ReadTopic(broker_.bootstrap(), "orders");
  EXPECT_EQ(TopicSeqs(topic), (std::set<int64_t>{1, 2, 3, 4, 5}));
  EXPECT_TRUE(OrderViolations(topic).empty());
}

// The mirror case: the transaction holding the gap is the older one (listed in the snapshot); a
// lost source connection while it waits does not switch the table to the timeout.
TEST_F(PgGapTest, GapHeldByTheOlderTransactionSurvivesALostConnection) {
  InProcessStream stream(config_path_, broker_.bootstrap());
  Commit("INSERT INTO shop.orders VALUES (1, 1.00, 'first')");  // CDC_SEQ 1
  ASSERT_TRUE(WaitBriefly([&] { return stream.Watermark() == 1; }));
  pqxx::connection older_connection(url_);
  pqxx::work older(older_connection);
  older.exec("INSERT INTO shop.orders VALUES (10, 1, 'a'), (11, 1, 'b')");  // 2..3, older id
  Commit("INSERT INTO shop.orders VALUES (20, 2.00, 'newer')");             // 4
  ASSERT_TRUE(WaitBriefly([&] { return stream.Published() >= 2 && stream.Idle(); }));
  // Every other session of the source database goes away (the producer's among them).
  Commit(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
      " AND pid <> pg_backend_pid() AND pid <> " +
      std::to_string(older_connection.backendpid()));
  ASSERT_TRUE(stream.LetPass(2 * stream.settings().stream.gap_timeout));
  EXPECT_EQ(stream.Expired(), 0);
  EXPECT_EQ(stream.Fallback(), 0);
  EXPECT_GE(stream.Errors("transient"), 1) << "the lost connection was not noticed";
  EXPECT_EQ(stream.Errors("permanent"), 0) << "a lost connection counted as permanent";
  older.commit();
  ASSERT_TRUE(WaitFor([&] { return stream.Watermark() == 4; }, std::chrono::seconds(30)));
  stream.Stop();
  EXPECT_EQ(TopicSeqs(ReadTopic(broker_.bootstrap(), "orders")), (std::set<int64_t>{1, 2, 3, 4}));
}

// A source user that may not see the open transactions (on Oracle: no SELECT on GV_$TRANSACTION)
// falls back to giving a gap up gap_timeout_ms after it was noticed.
TEST_F(PgGapTest, WithoutTheTransactionHorizonGapsAreGivenUpAfterTheTimeout) {
  {
    pqxx::connection c(url_);
    pqxx::work w(c);
    w.exec("CREATE ROLE capture LOGIN");
    w.exec("GRANT USAGE ON SCHEMA shop TO capture");
    w.exec("GRANT SELECT ON ALL TABLES IN SCHEMA shop TO capture");
    w.exec("REVOKE EXECUTE ON FUNCTION txid_current_snapshot() FROM PUBLIC");
    w.commit();
  }
  std::string connection = source_->ConnectionString();
  connection.replace(connection.find("Uid=postgres"), 12, "Uid=capture");
  const std::string limited_config = dir_.File("limited.yaml");
  WriteText(limited_config, ProducerConfig(broker_.bootstrap(), connection,
                                           "    - name: shop.orders\n      topic: orders\n",
                                           "  snapshot: never\n"));
  InProcessStream stream(limited_config, broker_.bootstrap());
  Commit("INSERT INTO shop.orders VALUES (1, 1.00, 'first')");  // CDC_SEQ 1
  ASSERT_TRUE(WaitBriefly([&] { return stream.Watermark() == 1; }));
  pqxx::connection slow(url_);
  auto held = std::make_unique<pqxx::work>(slow);
  held->exec("INSERT INTO shop.orders VALUES (2, 2.00, 'held')");  // CDC_SEQ 2
  Commit("INSERT INTO shop.orders VALUES (3, 3.00, 'kept')");      // CDC_SEQ 3
  ASSERT_TRUE(WaitBriefly([&] { return stream.Published() >= 2 && stream.Idle(); }));
  const Clock::Duration noticed = stream.clock().TotalSlept();
  ASSERT_TRUE(WaitFor([&] { return stream.Expired() >= 1; }, std::chrono::seconds(60)));
  EXPECT_EQ(stream.TimedOut(), 1);
  EXPECT_GE(stream.clock().TotalSlept() - noticed, stream.settings().stream.gap_timeout);
  EXPECT_EQ(stream.Watermark(), 3);
  // Said where operators look: the gauge and the warning /ready serves.
  EXPECT_EQ(stream.Fallback(), 1);
  EXPECT_NE(stream.Health().warning.find("gap_timeout_ms"), std::string::npos);
  held->abort();

  // The DBA grants it: a minute later (the horizon is asked for again every minute), the next
  // gap waits for its transaction again - no restart needed.
  Commit("GRANT EXECUTE ON FUNCTION txid_current_snapshot() TO capture");
  ASSERT_TRUE(stream.LetPass(producer::TableStream::kHorizonRetry));
  pqxx::connection later(url_);
  pqxx::work held_again(later);
  held_again.exec("INSERT INTO shop.orders VALUES (4, 4.00, 'held')");  // CDC_SEQ 4
  Commit("INSERT INTO shop.orders VALUES (5, 5.00, 'kept')");           // CDC_SEQ 5
  ASSERT_TRUE(stream.LetPass(2 * stream.settings().stream.gap_timeout));
  EXPECT_EQ(stream.Fallback(), 0);
  EXPECT_TRUE(stream.Health().warning.empty());
  EXPECT_EQ(stream.TimedOut(), 1) << "the second gap was given up on the timeout";
  held_again.commit();
  ASSERT_TRUE(WaitFor([&] { return stream.Watermark() == 5; }, std::chrono::seconds(30)));
  stream.Stop();
  EXPECT_EQ(TopicSeqs(ReadTopic(broker_.bootstrap(), "orders")), (std::set<int64_t>{1, 3, 4, 5}));
}

}  // namespace
}  // namespace cdc::testing
