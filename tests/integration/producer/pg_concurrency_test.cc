// Tests 2 and 7 of the producer issue, on PostgreSQL through psqlODBC where commits really
// interleave: a lower sequence number committed after a higher one was published still reaches
// Kafka; 1,000 randomly interleaved transactions lose nothing; a gap that never fills is given up
// after the timeout and streaming goes on.
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

TEST_F(PgSourceTest, GapThatNeverFillsIsGivenUpAndStreamingGoesOn) {
  // The table worker in-process, on a manual clock: its idle sleeps advance time instantly, so
  // the 30 s gap timeout passes within a few real seconds of polling.
  const config::Config config = config::Config::Load(config_path_, config::ProjectSchema(), {});
  const producer::ProducerSettings settings = producer::ProducerSettings::FromConfig(config);
  ManualClock clock;
  metrics::Registry registry;
  producer::ProducerMetrics metrics(registry);
  kafka::KafkaSettings kafka;
  kafka.bootstrap_servers = broker_.bootstrap();
  registry::TopicRegistry schemas(kafka, "_cdc_schemas", TestLogger());
  producer::Publisher publisher(kafka, metrics, clock, TestLogger());
  const size_t index = publisher.AddTable("shop.orders", {});
  odbc::Environment environment;
  producer::OdbcChangeSource source(environment, settings.connection, std::nullopt,
                                    settings.tables[0].source, TestLogger());
  producer::TableStream stream("shop.orders", "orders", settings.stream, source, publisher, index,
                               schemas, metrics, clock, TestLogger());
  std::stop_source stop;
  std::thread worker([&] { stream.Run(stop.get_token(), producer::StreamMode::kStream); });
  std::atomic<bool> serving{true};
  std::thread server([&] {
    while (serving) publisher.Serve(std::chrono::milliseconds(20));
  });
  auto& expired = metrics.gaps_expired.WithLabels({"shop.orders"});
  auto commit = [&](const std::string& sql) {
    pqxx::connection c(url_);
    pqxx::work w(c);
    w.exec(sql);
    w.commit();
  };
  // Warm up (connection, schemas, producer id) so later deliveries take milliseconds.
  commit("INSERT INTO shop.orders VALUES (1, 1.00, 'first')");  // CDC_SEQ 1
  ASSERT_TRUE(WaitBriefly([&] { return publisher.ledger(index).Confirmed().watermark == 1; }));

  pqxx::connection slow(url_);
  auto held = std::make_unique<pqxx::work>(slow);
  held->exec("INSERT INTO shop.orders VALUES (2, 2.00, 'rolled back')");  // CDC_SEQ 2
  commit("INSERT INTO shop.orders VALUES (3, 3.00, 'kept')");             // CDC_SEQ 3
  // Seq 3 is delivered; the checkpoint holds below the open gap at 2.
  ASSERT_TRUE(WaitBriefly([&] {
    return metrics.events_published.WithLabels({"shop.orders"}).Value() >= 2 &&
           publisher.ledger(index).InFlight() == 0;
  }));
  EXPECT_EQ(expired.Value(), 0);
  EXPECT_EQ(publisher.ledger(index).Confirmed().watermark, 1);
  held->abort();  // seq 2 will never commit
  held.reset();
  ASSERT_TRUE(WaitFor([&] { return expired.Value() >= 1; }, std::chrono::seconds(30)));
  EXPECT_EQ(expired.Value(), 1);
  EXPECT_GE(clock.TotalSlept(), settings.stream.gap_timeout);
  commit("INSERT INTO shop.orders VALUES (4, 4.00, 'after the gap')");  // CDC_SEQ 4
  ASSERT_TRUE(WaitFor([&] { return publisher.ledger(index).Confirmed().watermark == 4; },
                      std::chrono::seconds(30)));
  stop.request_stop();
  worker.join();
  serving = false;
  server.join();
  const std::set<int64_t> seen = TopicSeqs(ReadTopic(broker_.bootstrap(), "orders"));
  EXPECT_EQ(seen, (std::set<int64_t>{1, 3, 4}));
}

}  // namespace
}  // namespace cdc::testing
