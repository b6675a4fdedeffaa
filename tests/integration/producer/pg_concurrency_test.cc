// Gap-safe capture on PostgreSQL through psqlODBC, where commits really interleave: a lower
// sequence number committed after a higher one was published still reaches Kafka, in key order;
// the three-session sequence (a transaction newer than every completed one holds a gap) and its
// mirror lose nothing; 1,000 randomly interleaved transactions lose nothing; a gap that never
// fills is given up once its transactions ended; only a permission error makes a table fall back
// to the timeout, never a lost connection.
#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <random>
#include <thread>

#include "common/registry/topic_registry.h"
#include "producer/change_source.h"
#include "producer/producer_app.h"
#include "producer/publisher.h"
#include "producer/settings.h"
#include "producer/table_stream.h"
#include "tests/harness/odbc_sources.h"
#include "tests/harness/pg_cluster.h"
#include "tests/integration/producer/producer_fixture.h"

namespace cdc::testing {
namespace {

class PgSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = std::make_unique<PostgresOdbcSource>(cluster_, "src");
    url_ = cluster_.Url("src");
    pqxx::connection c(url_);
    pqxx::work w(c);
    w.exec("CREATE SCHEMA shop");
    w.exec("CREATE TABLE shop.orders (id bigint PRIMARY KEY, amount numeric(12,2), note text)");
    w.commit();
    config_path_ = dir_.File("config.yaml");
    WriteText(config_path_, ProducerConfig(broker_.bootstrap(), source_->ConnectionString(),
                                           "    - name: shop.orders\n      topic: orders\n",
                                           "  snapshot: never\n"));
    Process apply({CDC_PRODUCER_PATH, "ddl", "--config", config_path_, "--apply"},
                  dir_.File("ddl.log"));
    ASSERT_EQ(apply.Wait(std::chrono::seconds(30)), 0) << Tail(dir_.File("ddl.log"));
  }

  std::set<int64_t> SourceSeqs() {
    pqxx::connection c(url_);
    pqxx::work w(c);
    std::set<int64_t> seqs;
    for (const auto& row : w.exec("SELECT \"CDC_SEQ\" FROM shop.\"orders_CT\"")) {
      seqs.insert(row[0].as<int64_t>());
    }
    return seqs;
  }

  DevBroker broker_;
  PgCluster cluster_;
  TempDir dir_{"cdc-producer-pg"};
  std::unique_ptr<PostgresOdbcSource> source_;
  std::string url_;
  std::string config_path_;
};

TEST_F(PgSourceTest, LowerSequenceCommittedLaterIsStillPublished) {
  pqxx::connection slow(url_);
  pqxx::work held(slow);
  held.exec("INSERT INTO shop.orders VALUES (1, 1.00, 'slow')");  // takes CDC_SEQ 1, uncommitted
  {
    pqxx::connection fast(url_);
    pqxx::work w(fast);
    w.exec("INSERT INTO shop.orders VALUES (2, 2.00, 'fast')");  // CDC_SEQ 2, committed first
    w.commit();
  }
  ProducerProcess producer(config_path_, dir_.File("producer.log"));
  ASSERT_TRUE(WaitFor([&] { return TopicSeqs(ReadTopic(broker_.bootstrap(), "orders")).count(2); },
                      std::chrono::seconds(60)))
      << Tail(dir_.File("producer.log"));
  held.commit();
  ASSERT_TRUE(WaitFor([&] { return TopicSeqs(ReadTopic(broker_.bootstrap(), "orders")).count(1); },
                      std::chrono::seconds(30)))
      << "the late commit of CDC_SEQ 1 was lost\n"
      << Tail(dir_.File("producer.log"));
  EXPECT_EQ(producer.Stop(SIGTERM), 0);
}

// A transaction holds an early number open while more than 10,000 later changes commit; the
// producer starts on the table (initial snapshot) and only then does the transaction commit. Its
// change must arrive - like every other change in the change table - and the snapshot completes
// after it, in key order.
TEST_F(PgSourceTest, SnapshotWaitsForANumberHeldOpenBehindTenThousandCommits) {
  pqxx::connection held_connection(url_);
  pqxx::work held(held_connection);
  held.exec("INSERT INTO shop.orders VALUES (0, 0.50, 'held')");  // CDC_SEQ 1, left open
  {
    pqxx::connection c(url_);
    pqxx::work w(c);
    w.exec("INSERT INTO shop.orders SELECT g, g, 'bulk' FROM generate_series(1, 12000) g");
    w.commit();  // CDC_SEQ 2..12001
  }
  const std::string config = dir_.File("snapshot.yaml");
  WriteText(config, ProducerConfig(broker_.bootstrap(), source_->ConnectionString(),
                                   "    - name: shop.orders\n      topic: orders\n",
                                   "  batch_size: 2000\n"));
  ProducerProcess producer(config, dir_.File("producer.log"));
  ASSERT_TRUE(
      WaitFor([&] { return TopicSeqs(ReadTopic(broker_.bootstrap(), "orders")).count(12001) == 1; },
              std::chrono::seconds(60)))
      << Tail(dir_.File("producer.log"));
  EXPECT_EQ(CountInFile(dir_.File("producer.log"), "\"snapshot done\""), 0u)
      << "the snapshot finished while a change below its rows' positions could still commit";
  held.commit();
  ASSERT_TRUE(
      WaitFor([&] { return CountInFile(dir_.File("producer.log"), "\"snapshot done\"") == 1; },
              std::chrono::seconds(120)))
      << Tail(dir_.File("producer.log"));
  EXPECT_EQ(producer.Stop(SIGTERM), 0);
  const std::vector<TopicMessage> topic = ReadTopic(broker_.bootstrap(), "orders");
  const std::set<int64_t> seqs = TopicSeqs(topic);
  for (int64_t seq = 1; seq <= 12001; ++seq) {
    ASSERT_EQ(seqs.count(seq), 1u) << "change " << seq << " was lost";
  }
  std::set<std::string> keys;
  for (const TopicMessage& m : topic) keys.insert(m.key);
  EXPECT_EQ(keys.size(), 12001u);
  EXPECT_TRUE(OrderViolations(topic).empty());
}

// A producer killed before it ever wrote a checkpoint, on a table that starts with a snapshot:
// the restart must publish the deletes committed while it was down (a fresh cut-off at the change
// table's maximum skipped them, leaving the first run's snapshot rows live), in key order.
TEST_F(PgSourceTest, SnapshotStartKilledBeforeItsFirstCheckpointLosesNoDelete) {
  pqxx::connection c(url_);
  auto commit = [&](const std::string& sql) {
    pqxx::work w(c);
    w.exec(sql);
    w.commit();
  };
  commit("INSERT INTO shop.orders SELECT g * 10, 1, 'x' FROM generate_series(0, 109) g");
  const std::string config = dir_.File("snapshot.yaml");
  WriteText(config, ProducerConfig(broker_.bootstrap(), source_->ConnectionString(),
                                   "    - name: shop.orders\n      topic: orders\n",
                                   "  batch_size: 20\n", "  format: json\n"));
  std::string text;
  {
    std::ifstream in(config);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  text.replace(text.find("checkpoint_interval_ms: 200"), 27, "checkpoint_interval_ms: 600000");
  WriteText(config, text);
  auto producer = std::make_unique<ProducerProcess>(config, dir_.File("producer-1.log"));
  ASSERT_TRUE(WaitFor([&] { return !ReadTopic(broker_.bootstrap(), "orders").empty(); },
                      std::chrono::seconds(60)))
      << Tail(dir_.File("producer-1.log"));
  producer->Stop(SIGKILL);  // before any checkpoint: the interval is ten minutes
  EXPECT_EQ(CheckpointWatermark(broker_.bootstrap(), "shop.orders"), -1);
  commit("DELETE FROM shop.orders WHERE id <= 300");  // while the producer is down
  producer = std::make_unique<ProducerProcess>(config, dir_.File("producer-2.log"));
  ASSERT_TRUE(
      WaitFor([&] { return CountInFile(dir_.File("producer-2.log"), "\"snapshot done\"") == 1; },
              std::chrono::seconds(120)))
      << Tail(dir_.File("producer-2.log"));
  const std::set<int64_t> expected = SourceSeqs();
  std::vector<TopicMessage> topic;
  ASSERT_TRUE(WaitFor(
      [&] {
        topic = ReadTopic(broker_.bootstrap(), "orders");
        const std::set<int64_t> seen = TopicSeqs(topic);
        return std::includes(seen.begin(), seen.end(), expected.begin(), expected.end());
      },
      std::chrono::seconds(60)));
  EXPECT_EQ(producer->Stop(SIGTERM), 0);
  EXPECT_TRUE(OrderViolations(topic).empty()) << OrderViolations(topic).front();
  std::map<std::string, std::string> last_op;  // key -> op of its last event
  for (const TopicMessage& m : topic) {
    if (m.value) last_op[m.key] = m.op();
  }
  size_t deleted = 0;
  for (int id = 0; id <= 300; id += 10) {
    const auto it = last_op.find("{\"id\":" + std::to_string(id) + "}");
    ASSERT_NE(it, last_op.end()) << id;
    EXPECT_EQ(it->second, "d") << "row " << id << " was deleted while the producer was down";
    deleted += it->second == "d";
  }
  EXPECT_EQ(deleted, 31u);
}

TEST_F(PgSourceTest, ThousandInterleavedTransactionsLoseNothing) {
  ProducerProcess producer(config_path_, dir_.File("producer.log"));
  constexpr int kThreads = 8;
  constexpr int kPerThread = 125;
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      pqxx::connection c(url_);
      std::mt19937 rng(static_cast<unsigned>(t));
      for (int i = 0; i < kPerThread; ++i) {
        pqxx::work w(c);
        const int64_t id = t * 100000 + i;
        w.exec_params("INSERT INTO shop.orders VALUES ($1, $2, 'x')", id, std::to_string(i) + ".5");
        if (i % 3 == 0) w.exec_params("UPDATE shop.orders SET note = 'y' WHERE id = $1", id);
        // Hold the transaction a random moment so commits land out of sequence order.
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 20000));
        if (i % 50 == 49) {
          w.abort();  // a rolled-back transaction leaves a gap that never fills
        } else {
          w.commit();
        }
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  const std::set<int64_t> expected = SourceSeqs();
  ASSERT_GT(expected.size(), 1000u);
  std::set<int64_t> seen;
  ASSERT_TRUE(WaitFor(
      [&] {
        seen = TopicSeqs(ReadTopic(broker_.bootstrap(), "orders"));
        return std::includes(seen.begin(), seen.end(), expected.begin(), expected.end());
      },
      std::chrono::seconds(60)));
  size_t missing = 0;
  for (int64_t seq : expected) missing += seen.count(seq) == 0 ? 1 : 0;
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(producer.Stop(SIGTERM), 0);
}

// Polls `done` every 2 ms for up to 30 s (the manual clock below runs fast: no 500 ms naps).
template <typename Fn>
bool WaitBriefly(Fn done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return done();
}

// A manual clock that can be frozen: while frozen, sleeps take 1 ms of real time and advance
// nothing, so no gap can time out while a test sets up its transactions.
class FreezableClock final : public Clock {
 public:
  TimePoint Now() const override { return clock_.Now(); }
  WallTime WallNow() const override { return clock_.WallNow(); }
  bool SleepFor(Duration duration, std::stop_token stop) override {
    if (!frozen_) return clock_.SleepFor(duration, stop);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return !stop.stop_requested();
  }
  void Freeze(bool frozen) { frozen_ = frozen; }
  Duration TotalSlept() const { return clock_.TotalSlept(); }

 private:
  ManualClock clock_;
  std::atomic<bool> frozen_{false};
};

// The table worker of shop.orders in this process, on a FreezableClock: its idle sleeps advance
// time instantly, so the 30 s gap timeout passes within a few real seconds of polling.
class InProcessStream {
 public:
  InProcessStream(const std::string& config_path, const std::string& bootstrap)
      : settings_(producer::ProducerSettings::FromConfig(
            config::Config::Load(config_path, config::ProjectSchema(), {}))),
        metrics_(registry_),
        kafka_(KafkaFor(bootstrap)),
        schemas_(kafka_, "_cdc_schemas", TestLogger()),
        publisher_(kafka_, metrics_, clock_, TestLogger()),
        index_(publisher_.AddTable("shop.orders", {})),
        source_(environment_, settings_.connection, std::nullopt, settings_.tables[0].source,
                TestLogger()),
        stream_("shop.orders", "orders", settings_.stream, source_, publisher_, index_, schemas_,
                metrics_, clock_, TestLogger()) {
    worker_ = std::thread([this] { stream_.Run(stop_.get_token()); });
    server_ = std::thread([this] {
      while (serving_) publisher_.Serve(std::chrono::milliseconds(20));
    });
  }
  ~InProcessStream() { Stop(); }

  void Stop() {
    if (!worker_.joinable()) return;
    stop_.request_stop();
    worker_.join();
    serving_ = false;
    server_.join();
  }
  int64_t Watermark() { return publisher_.ledger(index_).Confirmed().watermark; }
  bool Idle() { return publisher_.ledger(index_).InFlight() == 0; }
  double Published() { return metrics_.events_published.WithLabels({"shop.orders"}).Value(); }
  double Expired() { return Closed() + TimedOut(); }
  double Closed() {
    return metrics_.gaps_expired.WithLabels({"shop.orders", "transactions_ended"}).Value();
  }
  double TimedOut() { return metrics_.gaps_expired.WithLabels({"shop.orders", "timeout"}).Value(); }
  double Errors(const std::string& retry_class) {
    return metrics_.table_errors.WithLabels({"shop.orders", retry_class}).Value();
  }
  double Fallback() { return metrics_.gap_timeout_fallback.WithLabels({"shop.orders"}).Value(); }
  producer::TableHealth Health() { return stream_.health(); }

  FreezableClock& clock() { return clock_; }
  // Waits until the stream's clock has slept `duration` more (its polls make that pass within a
  // few real seconds); false after 90 real seconds.
  bool LetPass(Clock::Duration duration) {
    const Clock::Duration start = clock_.TotalSlept();
    return WaitFor([&] { return clock_.TotalSlept() - start >= duration; },
                   std::chrono::seconds(90));
  }
  const producer::ProducerSettings& settings() const { return settings_; }

 private:
  static kafka::KafkaSettings KafkaFor(const std::string& bootstrap) {
    kafka::KafkaSettings kafka;
    kafka.bootstrap_servers = bootstrap;
    return kafka;
  }

  const producer::ProducerSettings settings_;
  FreezableClock clock_;
  metrics::Registry registry_;
  producer::ProducerMetrics metrics_;
  const kafka::KafkaSettings kafka_;
  registry::TopicRegistry schemas_;
  producer::Publisher publisher_;
  const size_t index_;
  odbc::Environment environment_;
  producer::OdbcChangeSource source_;
  producer::TableStream stream_;
  std::stop_source stop_;
  std::atomic<bool> serving_{true};
  std::thread worker_;
  std::thread server_;
};

// PostgreSQL reports its open transactions (txid_current_snapshot), so a gap is waited for
// exactly as long as a transaction that could fill it is open - not gap_timeout_ms.
class PgGapTest : public PgSourceTest {
 protected:
  void Commit(const std::string& sql) {
    pqxx::connection c(url_);
    pqxx::work w(c);
    w.exec(sql);
    w.commit();
  }
  // Runs the stream, publishes CDC_SEQ 1 and leaves CDC_SEQ 2 in a transaction still open, with
  // CDC_SEQ 3 committed and published above it; then lets twice gap_timeout_ms pass on the
  // stream's clock.
  std::unique_ptr<pqxx::work> HoldSeqTwoPastTheTimeout(InProcessStream& stream) {
    // Warm up (connection, schemas, producer id) so later deliveries take milliseconds.
    Commit("INSERT INTO shop.orders VALUES (1, 1.00, 'first')");  // CDC_SEQ 1
    EXPECT_TRUE(WaitBriefly([&] { return stream.Watermark() == 1; }));
    slow_ = std::make_unique<pqxx::connection>(url_);
    auto held = std::make_unique<pqxx::work>(*slow_);
    held->exec("INSERT INTO shop.orders VALUES (2, 2.00, 'held')");  // CDC_SEQ 2
    Commit("INSERT INTO shop.orders VALUES (3, 3.00, 'kept')");      // CDC_SEQ 3
    EXPECT_TRUE(WaitBriefly([&] { return stream.Published() >= 2 && stream.Idle(); }));
    EXPECT_TRUE(stream.LetPass(2 * stream.settings().stream.gap_timeout));
    EXPECT_EQ(stream.Expired(), 0) << "a gap was given up while its transaction was open";
    EXPECT_EQ(stream.Watermark(), 1);
    return held;
  }

  std::unique_ptr<pqxx::connection> slow_;
};

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

// One read re-checks at most 16 gaps. Seventeen open transactions leave seventeen gaps; sixteen
// roll back and the last (above all of them) commits: its row must still be found and published,
// and only the sixteen empty gaps given up.
TEST_F(PgSourceTest, CommitBehindMoreGapsThanOneReadCoversIsStillPublished) {
  constexpr int kHeld = 17;
  static_assert(kHeld > static_cast<int>(producer::ChangeSource::kMaxRangesPerRead));
  InProcessStream stream(config_path_, broker_.bootstrap());
  pqxx::connection committer(url_);
  auto commit = [&](int64_t id) {
    pqxx::work w(committer);
    w.exec_params("INSERT INTO shop.orders VALUES ($1, 1.00, 'kept')", id);
    w.commit();
  };
  commit(1);  // CDC_SEQ 1
  ASSERT_TRUE(WaitBriefly([&] { return stream.Watermark() == 1; }));
  stream.clock().Freeze(true);
  std::vector<std::unique_ptr<pqxx::connection>> connections;
  std::vector<std::unique_ptr<pqxx::work>> held;
  std::set<int64_t> expected = {1};
  for (int i = 0; i < kHeld; ++i) {
    connections.push_back(std::make_unique<pqxx::connection>(url_));
    held.push_back(std::make_unique<pqxx::work>(*connections.back()));
    held.back()->exec_params("INSERT INTO shop.orders VALUES ($1, 2.00, 'held')", 100 + i);
    commit(200 + i);  // CDC_SEQ 2i+3, above the held one's 2i+2
    expected.insert(2 * i + 3);
  }
  ASSERT_TRUE(WaitBriefly([&] { return stream.Published() >= 1 + kHeld && stream.Idle(); }));
  for (int i = 0; i + 1 < kHeld; ++i) held[static_cast<size_t>(i)]->abort();
  held.back()->commit();  // CDC_SEQ 2 * kHeld: the highest gap
  expected.insert(2 * kHeld);
  ASSERT_TRUE(WaitBriefly([&] { return stream.Published() >= 2 + kHeld && stream.Idle(); }))
      << "a row committed behind " << kHeld - 1 << " never-filling gaps was not read";
  stream.clock().Freeze(false);
  ASSERT_TRUE(WaitFor([&] { return stream.Expired() >= kHeld - 1; }, std::chrono::seconds(60)));
  ASSERT_TRUE(
      WaitFor([&] { return stream.Watermark() == 2 * kHeld + 1; }, std::chrono::seconds(30)));
  EXPECT_EQ(stream.Expired(), kHeld - 1);
  stream.Stop();
  EXPECT_EQ(TopicSeqs(ReadTopic(broker_.bootstrap(), "orders")), expected);
}

}  // namespace
}  // namespace cdc::testing
