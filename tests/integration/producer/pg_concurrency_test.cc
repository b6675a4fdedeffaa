// Capture on PostgreSQL through psqlODBC, where commits really interleave: a lower sequence
// number committed after a higher one was published still reaches Kafka, in key order; a number
// held open behind 10,000 commits at a snapshot's start arrives; a snapshot start killed before
// its first checkpoint loses no delete; 1,000 randomly interleaved transactions lose nothing; a
// commit behind more gaps than one read covers is found.
#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <random>
#include <thread>

#include "tests/integration/producer/pg_source_fixture.h"

namespace cdc::testing {
namespace {

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
