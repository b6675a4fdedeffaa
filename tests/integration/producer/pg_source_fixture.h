// Shared pieces of the PostgreSQL-source tests: a source database with shop.orders and its change
// table (through psqlODBC), and the table worker run in this process on a clock whose idle sleeps
// pass at once, so gap timeouts elapse within a few real seconds.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <pqxx/pqxx>
#include <thread>

#include "common/registry/topic_registry.h"
#include "producer/change_source.h"
#include "producer/publisher.h"
#include "producer/settings.h"
#include "producer/table_stream.h"
#include "tests/harness/odbc_sources.h"
#include "tests/harness/pg_cluster.h"
#include "tests/integration/producer/producer_fixture.h"

namespace cdc::testing {

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

}  // namespace cdc::testing
