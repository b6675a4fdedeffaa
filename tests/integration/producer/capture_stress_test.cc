// The capture promise under real concurrency, checked by an independent Kafka client
// (python3-confluent-kafka, check_capture.py): against a PostgreSQL source, writers commit out of
// sequence order with random delays, roll back whole transactions and savepoints, prepare
// two-phase transactions that another session commits or rolls back later, keep a few
// transactions open for seconds, and one idle session sits in a transaction with an id; the
// producer is killed with SIGKILL twice and a backfill runs through one of the kills. Then every
// committed CDC_SEQ must be in the topic, no event may carry a number never committed, every
// key's events must keep seq order within their partition (exact repeats after a restart
// allowed), no two different images of a key may share a seq, and the last event of every key
// must be the source's row.
//
// CI size: seeds 1-3, 16 writers, 1,000 transactions each, long transactions of 2-4 s (~20 s a
// seed). Bigger, by hand (the tester ran 24 writers with 20-60 s transactions):
//   CDC_STRESS_SEEDS=1,2,3,4,5 CDC_STRESS_TRANSACTIONS=5000 CDC_STRESS_WRITERS=24
//   CDC_STRESS_LONG_MS=20000,60000 build/tests/producer_slow_tests --gtest_filter='CaptureStress*'
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <random>
#include <sstream>
#include <thread>

#include "tests/harness/odbc_sources.h"
#include "tests/harness/pg_cluster.h"
#include "tests/integration/producer/producer_fixture.h"

namespace cdc::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

int EnvInt(const char* name, int fallback) {
  const char* text = std::getenv(name);
  return text != nullptr && *text != '\0' ? std::atoi(text) : fallback;
}

std::vector<int> EnvList(const char* name, std::vector<int> fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  std::vector<int> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoi(item));
  return out;
}

struct Size {
  int transactions = EnvInt("CDC_STRESS_TRANSACTIONS", 1000);
  int writers = EnvInt("CDC_STRESS_WRITERS", 16);
  std::vector<int> long_ms = EnvList("CDC_STRESS_LONG_MS", {2000, 4000});
  int keys = 400;       // ids 1..keys; a third of the operations hit the 50 hottest
  int base_rows = 200;  // rows before the change table exists: only the initial snapshot has them
};

struct Tally {
  std::atomic<int> done{0};  // transactions finished (any outcome)
  std::atomic<int> committed{0};
  std::atomic<int> rolled_back{0};
  std::atomic<int> failed{0};  // deadlock, unique violation: rolled back by the error
  std::atomic<int> prepared{0};
  std::atomic<int> savepoints{0};
  std::atomic<int> long_ones{0};
};

// Prepared transactions waiting to be committed or rolled back by another session, each at its
// own time.
class PreparedQueue {
 public:
  using Time = std::chrono::steady_clock::time_point;
  void Push(std::string gid, Time due) {
    std::lock_guard lock(mutex_);
    gids_.emplace_back(std::move(gid), due);
  }
  // A transaction whose time has come, if any.
  std::optional<std::string> PopDue() {
    std::lock_guard lock(mutex_);
    for (auto it = gids_.begin(); it != gids_.end(); ++it) {
      if (it->second > std::chrono::steady_clock::now()) continue;
      std::string gid = std::move(it->first);
      gids_.erase(it);
      return gid;
    }
    return std::nullopt;
  }
  bool empty() {
    std::lock_guard lock(mutex_);
    return gids_.empty();
  }

 private:
  std::mutex mutex_;
  std::deque<std::pair<std::string, Time>> gids_;
};

class CaptureStress {
 public:
  CaptureStress(int seed, const Size& size) : seed_(seed), size_(size) {}

  void Run() {
    source_ = std::make_unique<PostgresOdbcSource>(cluster_, "src");
    url_ = cluster_.Url("src");
    {
      pqxx::connection c(url_);
      pqxx::work w(c);
      w.exec("CREATE SCHEMA shop");
      w.exec("CREATE TABLE shop.items (id integer PRIMARY KEY, v bigint NOT NULL, note text)");
      w.exec("INSERT INTO shop.items SELECT g, 0, 'base' FROM generate_series(1, " +
             std::to_string(size_.base_rows) + ") g");
      w.commit();
    }
    std::string config = ProducerConfig(broker_.bootstrap(), source_->ConnectionString(),
                                        "    - name: shop.items\n      topic: items\n",
                                        "  batch_size: 50\n", "  format: json\n");
    status_ = "127.0.0.1:" + std::to_string(FreePort());
    config.replace(config.find("127.0.0.1:0"), 11, status_);
    config_path_ = dir_.File("config.yaml");
    WriteText(config_path_, config);
    Process ddl({CDC_PRODUCER_PATH, "ddl", "--config", config_path_, "--apply"},
                dir_.File("ddl.log"));
    ASSERT_EQ(ddl.Wait(seconds(30)), 0) << Tail(dir_.File("ddl.log"));

    StartProducer();
    // The writers start once the initial snapshot has begun, so that its chunks interleave with
    // their changes.
    const std::string first_log = dir_.File("producer-1.log");
    ASSERT_TRUE(
        WaitFor([&] { return CountInFile(first_log, "\"snapshot started\"") > 0; }, seconds(60)))
        << Tail(first_log);
    started_ = std::chrono::steady_clock::now();
    std::vector<std::thread> writers;
    for (int w = 0; w < size_.writers; ++w) writers.emplace_back([this, w] { Writer(w); });
    std::thread resolver([this] { Resolver(); });
    Control();
    for (std::thread& writer : writers) writer.join();
    writers_done_ = true;
    resolver.join();
    written_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    if (idle_) EndIdleSession();
    ASSERT_TRUE(backfill_);
    ASSERT_EQ(backfill_->Wait(seconds(180)), 0) << Tail(dir_.File("backfill.log"));
    Verify();
  }

 private:
  void StartProducer() {
    ++runs_;
    producer_ = std::make_unique<ProducerProcess>(
        config_path_, dir_.File("producer-" + std::to_string(runs_) + ".log"));
  }

  // Kills and restarts the producer at a third and two thirds of the transactions, runs the
  // idle session from a tenth to 85%, and starts the backfill halfway.
  void Control() {
    const int total = size_.transactions;
    int kills = 0;
    while (tally_.done < total) {
      const int done = tally_.done;
      if (!idle_ && !idle_ended_ && done >= total / 10) StartIdleSession();
      if (idle_ && done >= total * 85 / 100) EndIdleSession();
      if ((kills == 0 && done >= total / 3) || (kills == 1 && done >= total * 2 / 3)) {
        producer_->Stop(SIGKILL);
        ++kills;
        StartProducer();
      }
      if (!backfill_ && done >= total / 2) {
        backfill_ = std::make_unique<Process>(
            std::vector<std::string>{CDC_PRODUCER_PATH, "snapshot", "--config", config_path_,
                                     "--table", "shop.items", "--producer", status_},
            dir_.File("backfill.log"));
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
  }

  void StartIdleSession() {
    idle_connection_ = std::make_unique<pqxx::connection>(url_);
    idle_ = std::make_unique<pqxx::work>(*idle_connection_);
    idle_->exec("SELECT txid_current()");  // an id, and no number: it still holds gaps open
  }
  void EndIdleSession() {
    idle_->abort();
    idle_.reset();
    idle_ended_ = true;
  }

  int Key(std::mt19937& rng) const {
    return rng() % 3 == 0 ? 1 + static_cast<int>(rng() % 50)
                          : 1 + static_cast<int>(rng() % static_cast<unsigned>(size_.keys));
  }

  std::string Operation(std::mt19937& rng, int t) {
    const std::string k = std::to_string(Key(rng));
    const std::string note = "'t" + std::to_string(t) + "'";
    switch (rng() % 20) {
      case 0:
      case 1:  // a key change: a delete of the old key and an insert of the new one
        return "UPDATE shop.items SET id = " + std::to_string(Key(rng)) + " WHERE id = " + k;
      case 2:
      case 3:
      case 4:
      case 5:
        return "DELETE FROM shop.items WHERE id = " + k;
      case 6:
      case 7:
      case 8:
      case 9:
      case 10:
        return "INSERT INTO shop.items VALUES (" + k + ", 0, " + note +
               ") ON CONFLICT (id) DO UPDATE SET v = shop.items.v + 1, note = EXCLUDED.note";
      default:
        return "UPDATE shop.items SET v = v + 1, note = " + note + " WHERE id = " + k;
    }
  }

  void Writer(int index) {
    pqxx::connection c(url_);
    std::mt19937 rng(static_cast<unsigned>(seed_ * 1000 + index));
    const int long_every = std::max(1, size_.transactions / 4);
    for (;;) {
      const int t = next_++;
      if (t >= size_.transactions) break;
      pqxx::nontransaction n(c);
      try {
        n.exec("BEGIN");
        const int operations = 1 + static_cast<int>(rng() % 4);
        for (int i = 0; i < operations; ++i) n.exec(Operation(rng, t));
        if (rng() % 8 == 0) {  // work undone by a savepoint rollback leaves gaps that never fill
          n.exec("SAVEPOINT s");
          n.exec(Operation(rng, t));
          n.exec("ROLLBACK TO SAVEPOINT s");
          n.exec(Operation(rng, t));
          ++tally_.savepoints;
        }
        int delay_ms = static_cast<int>(rng() % 200);
        if (t % long_every == long_every / 2) {
          delay_ms = size_.long_ms[0] +
                     static_cast<int>(rng() % static_cast<unsigned>(std::max(
                                                  1, size_.long_ms[1] - size_.long_ms[0])));
          ++tally_.long_ones;
        }
        std::this_thread::sleep_for(milliseconds(delay_ms));
        const unsigned outcome = rng() % 20;
        if (outcome < 2) {
          n.exec("ROLLBACK");
          ++tally_.rolled_back;
        } else if (outcome < 4) {
          const std::string gid = "stress_" + std::to_string(seed_) + "_" + std::to_string(t);
          n.exec("PREPARE TRANSACTION '" + gid + "'");
          prepared_.Push(gid, std::chrono::steady_clock::now() + milliseconds(rng() % 1500));
          ++tally_.prepared;
        } else {
          n.exec("COMMIT");
          ++tally_.committed;
        }
      } catch (const pqxx::failure&) {  // deadlock, unique violation (sql_error, rollbacks)
        ++tally_.failed;
        try {
          n.exec("ROLLBACK");
        } catch (const std::exception&) {
        }
      }
      ++tally_.done;
    }
  }

  // Commits (4 of 5) or rolls back each prepared transaction 0-1.5 s after it was prepared.
  void Resolver() {
    pqxx::connection c(url_);
    std::mt19937 rng(static_cast<unsigned>(seed_));
    for (;;) {
      const std::optional<std::string> gid = prepared_.PopDue();
      if (!gid) {
        if (writers_done_ && prepared_.empty()) return;
        std::this_thread::sleep_for(milliseconds(5));
        continue;
      }
      pqxx::nontransaction n(c);
      n.exec((rng() % 5 == 0 ? "ROLLBACK PREPARED '" : "COMMIT PREPARED '") + *gid + "'");
    }
  }

  void Verify() {
    pqxx::connection c(url_);
    std::set<int64_t> committed;
    nlohmann::json rows = nlohmann::json::object();
    {
      pqxx::work w(c);
      for (const auto& row : w.exec("SELECT \"CDC_SEQ\" FROM shop.\"items_CT\"")) {
        committed.insert(row[0].as<int64_t>());
      }
      for (const auto& row : w.exec("SELECT id, v, note FROM shop.items")) {
        rows[row[0].c_str()] = {{"v", row[1].as<int64_t>()}, {"note", row[2].c_str()}};
      }
    }
    ASSERT_GT(committed.size(), static_cast<size_t>(size_.transactions));
    std::set<int64_t> seen;
    const bool complete = WaitFor(
        [&] {
          seen = TopicSeqs(ReadTopic(broker_.bootstrap(), "items"));
          return std::includes(seen.begin(), seen.end(), committed.begin(), committed.end());
        },
        seconds(120));
    EXPECT_TRUE(complete) << Tail(dir_.File("producer-" + std::to_string(runs_) + ".log"));
    const double published_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    EXPECT_EQ(producer_->Stop(SIGTERM), 0);
    {
      std::ofstream seqs(dir_.File("seqs.txt"));
      for (int64_t seq : committed) seqs << seq << "\n";
      std::ofstream out(dir_.File("rows.json"));
      out << rows.dump();
    }
    std::string output;
    const int rc = RunShell("/usr/bin/python3 " CDC_SOURCE_DIR
                            "/tests/integration/producer/check_capture.py --bootstrap " +
                                broker_.bootstrap() + " --topic items --seqs-file " +
                                dir_.File("seqs.txt") + " --rows-file " + dir_.File("rows.json"),
                            &output);
    ASSERT_EQ(rc, 0) << output;
    const nlohmann::json counts = nlohmann::json::parse(output.substr(output.find('{')));
    std::printf(
        "capture stress seed %d: %d transactions (%d committed, %d prepared, %d rolled back, %d "
        "failed, %d with a savepoint rollback, %d long) in %.1f s, 2 kills, 1 backfill; all "
        "published %.1f s after the start -> %s\n",
        seed_, size_.transactions, tally_.committed.load(), tally_.prepared.load(),
        tally_.rolled_back.load(), tally_.failed.load(), tally_.savepoints.load(),
        tally_.long_ones.load(), written_s_, published_s, counts.dump().c_str());
    EXPECT_EQ(counts["committed"], committed.size());
    EXPECT_EQ(counts["missing"], 0) << counts.dump();
    EXPECT_EQ(counts["unknown"], 0) << counts.dump();
    EXPECT_EQ(counts["order_violations"], 0) << counts.dump();
    EXPECT_EQ(counts["state_differences"], 0) << counts.dump();
    EXPECT_EQ(counts["image_conflicts"], 0) << counts.dump();
    EXPECT_GT(counts["r_events"].get<int>(), 0);  // initial snapshot and backfill
  }

  const int seed_;
  const Size size_;
  DevBroker broker_;
  PgCluster cluster_;
  TempDir dir_{"cdc-capture-stress"};
  std::unique_ptr<PostgresOdbcSource> source_;
  std::string url_;
  std::string config_path_;
  std::string status_;
  std::unique_ptr<ProducerProcess> producer_;
  int runs_ = 0;
  std::chrono::steady_clock::time_point started_;
  double written_s_ = 0;
  std::unique_ptr<Process> backfill_;
  std::unique_ptr<pqxx::connection> idle_connection_;
  std::unique_ptr<pqxx::work> idle_;
  bool idle_ended_ = false;
  std::atomic<int> next_{0};
  std::atomic<bool> writers_done_{false};
  Tally tally_;
  PreparedQueue prepared_;
};

TEST(CaptureStress, EveryCommittedChangeArrivesInKeyOrderThroughKillsAndABackfill) {
  const Size size;
  for (int seed : EnvList("CDC_STRESS_SEEDS", {1, 2, 3})) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    CaptureStress(seed, size).Run();
  }
}

}  // namespace
}  // namespace cdc::testing
