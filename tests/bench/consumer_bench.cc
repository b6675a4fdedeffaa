// Consumer benchmark (issue 5): N change events (default 1M) of a 10-column table - 30% inserts of
// new keys, 70% updates of existing keys - are published to the dev broker the way cdc-producer
// publishes them (Avro, schemas topic), then a real cdc-consumer process applies them to a real
// PostgreSQL. Measured in the same run, on the same server:
//   raw       COPY of the same N row images (one transaction) into an identical table: same
//             columns, same indexes, but the key index is not unique because the N rows repeat
//             keys. Rows/s, the best of 3 rounds (the first one in a fresh cluster is slow).
//   consumer  events/s from the first committed batch to the batch that covers the last event,
//             and from process start (group join and start-up included)
//   RSS       the consumer's peak resident set (VmHWM)
// The replica is then checked against the model of the final rows (count and column sums), so a
// fast but wrong apply cannot pass. Targets: consumer >= 0.5x raw, RSS <= 256 MB; `--check` exits
// 1 when one is missed. Prints a human summary and one JSON line (stdout); progress on stderr.
//
// `--profile` logs every statement's duration on the server during the consumer phase and prints
// where PostgreSQL's time went, by statement.
//
//   build/tests/bench/consumer_bench [--events N] [--batch N] [--lanes N] [--partitions N]
//                                    [--check] [--profile]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/event/change_event.h"
#include "common/kafka/consumer.h"
#include "common/log.h"
#include "common/pg/connection.h"
#include "consumer/target_schema.h"
#include "tests/bench/consumer_profile.h"
#include "tests/bench/consumer_run.h"
#include "tests/harness/bench_table.h"
#include "tests/harness/bench_util.h"
#include "tests/harness/dev_broker.h"
#include "tests/harness/event_writer.h"
#include "tests/harness/pg_cluster.h"
#include "tests/harness/process.h"

namespace cdc::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kBaseMicros = 1'795'000'000'000'000;  // 2026-11-18

// The final state the replica must reach: per key, the values of its last event.
struct Model {
  std::vector<int64_t> qty;  // by id - 1
  std::vector<int64_t> ref;
  int64_t QtySum() const {
    int64_t sum = 0;
    for (const int64_t q : qty) sum += q;
    return sum;
  }
  int64_t RefSum() const {
    int64_t sum = 0;
    for (const int64_t r : ref) sum += r;
    return sum;
  }
};

// Event number `seq` for `id` (version `version` of that row), and its COPY line for the
// baseline table (the same values, plus the metadata columns the consumer writes).
event::ChangeEvent MakeEvent(int64_t id, int64_t seq, int64_t version, std::string& copy_line) {
  const int64_t qty = (id * 7 + version) % 1000;
  const int64_t ref = id * 1000 + version;
  const std::string amount =
      std::to_string((id * 13 + version) % 100000) + "." + std::to_string(10 + version % 90);
  const std::string name = "customer name " + std::to_string(id);
  const std::string status = version == 0 ? "NEW" : "UPDATED";
  const std::string note =
      "a note about row " + std::to_string(id) + " v" + std::to_string(version);
  const int64_t created = kBaseMicros + id * 1'000'000;
  const double score = static_cast<double>(id % 1000) * 0.5 + static_cast<double>(version);
  event::ChangeEvent e;
  e.op = version == 0 ? event::Op::kCreate : event::Op::kUpdate;
  e.after = event::Row{id, id % 1000, name, amount, created, score, status, qty, note, ref};
  e.key = {id};
  e.source = {"bench", "bench", "BENCH", "ITEMS", seq, kBaseMicros + seq, std::nullopt, false};
  e.ts_ms = kBaseMicros / 1000;
  // COPY text: timestamps as PostgreSQL reads them; score with full precision.
  char created_text[32];
  const time_t created_s = created / 1'000'000;
  std::tm tm{};
  gmtime_r(&created_s, &tm);
  std::strftime(created_text, sizeof(created_text), "%Y-%m-%d %H:%M:%S", &tm);
  char score_text[32];
  std::snprintf(score_text, sizeof(score_text), "%.17g", score);
  copy_line = std::to_string(id) + "\t" + std::to_string(id % 1000) + "\t" + name + "\t" + amount +
              "\t" + created_text + "\t" + score_text + "\t" + status + "\t" + std::to_string(qty) +
              "\t" + note + "\t" + std::to_string(ref) + "\t" + std::to_string(seq) + "\t" +
              (version == 0 ? "c" : "u") +
              "\t2026-11-18 00:00:00+00\t2026-11-18 00:00:00+00\t\\N\n";
  return e;
}

// Publishes `events` events (30% inserts of new keys, 70% updates of random existing keys) and
// returns the COPY text of their row images and the model of the final rows.
std::string Publish(EventWriter& writer, const event::TableMeta& table, int64_t events,
                    Model& model) {
  std::mt19937_64 rng(42);
  std::bernoulli_distribution insert(0.3);
  std::string copy;
  copy.reserve(static_cast<size_t>(events) * 160);
  std::vector<int64_t> versions;
  std::string line;
  const auto start = Clock::now();
  auto last_progress = start;
  for (int64_t seq = 1; seq <= events; ++seq) {
    int64_t id;
    if (versions.empty() || insert(rng)) {
      versions.push_back(0);
      id = static_cast<int64_t>(versions.size());
    } else {
      id = static_cast<int64_t>(rng() % versions.size()) + 1;
      ++versions[static_cast<size_t>(id - 1)];
    }
    const int64_t version = versions[static_cast<size_t>(id - 1)];
    writer.Write(table, MakeEvent(id, seq, version, line));
    copy += line;
    if (Seconds(Clock::now() - last_progress) >= 1.0) {
      last_progress = Clock::now();
      std::fprintf(stderr, "publish: %lld of %lld events, %.0f/s\n", static_cast<long long>(seq),
                   static_cast<long long>(events),
                   static_cast<double>(seq) / Seconds(last_progress - start));
    }
  }
  writer.Flush();
  model.qty.resize(versions.size());
  model.ref.resize(versions.size());
  for (size_t i = 0; i < versions.size(); ++i) {
    const int64_t id = static_cast<int64_t>(i) + 1;
    model.qty[i] = (id * 7 + versions[i]) % 1000;
    model.ref[i] = id * 1000 + versions[i];
  }
  std::fprintf(stderr, "publish: %lld events (%zu keys) in %.1f s\n",
               static_cast<long long>(events), versions.size(), Seconds(Clock::now() - start));
  return copy;
}

// The raw baseline: the same rows COPYed in one transaction into an identical table, made afresh
// (CHECKPOINT before, so every round starts alike); rows/s.
double CopyOnce(pg::Connection& db, const event::TableMeta& table, const std::string& copy,
                int64_t events) {
  db.Exec("DROP TABLE IF EXISTS baseline.items");
  for (const std::string& sql : consumer::CreateTableSql("baseline", "items", table, false))
    db.Exec(sql);
  // The N row images repeat keys: the key index stays, but not unique.
  db.Exec(
      "ALTER TABLE baseline.items DROP CONSTRAINT items_pkey;"
      "CREATE INDEX items_id ON baseline.items (id);"
      "CHECKPOINT");
  const auto start = Clock::now();
  pg::Transaction tx(db);
  const int64_t rows = db.CopyIn("COPY baseline.items FROM STDIN", copy);
  tx.Commit();
  const double seconds = Seconds(Clock::now() - start);
  if (rows != events) {
    std::fprintf(stderr, "raw COPY wrote %lld rows, expected %lld\n", static_cast<long long>(rows),
                 static_cast<long long>(events));
    std::exit(1);
  }
  db.Exec("DROP TABLE baseline.items");
  db.Exec("CHECKPOINT");
  return static_cast<double>(rows) / seconds;
}

// True when every partition of `topic` still starts at offset 0 (the dev broker dropped nothing).
bool AllRetained(const std::string& bootstrap, const std::string& topic, int partitions) {
  kafka::KafkaSettings settings;
  settings.bootstrap_servers = bootstrap;
  Logging logging(LogFormat::kText, LogLevel::kWarn);
  kafka::Consumer reader(settings, "consumer-bench-check", nullptr, logging.Get("bench"));
  for (int p = 0; p < partitions; ++p) {
    if (reader.Watermarks(topic, p, std::chrono::seconds(10)).first != 0) return false;
  }
  return true;
}

struct Options {
  int64_t events = 1'000'000;
  int64_t batch = 5000;
  int partitions = 64;
  int lanes = 0;  // 0 = the consumer's default
  int rounds = 3;
  bool check = false;
  bool profile = false;
};

bool ParseOptions(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--events") == 0 && has_value) {
      o.events = std::stoll(argv[++i]);
    } else if (std::strcmp(argv[i], "--batch") == 0 && has_value) {
      o.batch = std::stoll(argv[++i]);
    } else if (std::strcmp(argv[i], "--lanes") == 0 && has_value) {
      o.lanes = std::stoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--partitions") == 0 && has_value) {
      o.partitions = std::stoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--rounds") == 0 && has_value) {
      o.rounds = std::stoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--check") == 0) {
      o.check = true;
    } else if (std::strcmp(argv[i], "--profile") == 0) {
      o.profile = true;
    } else {
      std::fprintf(stderr,
                   "usage: consumer_bench [--events N] [--batch N] [--lanes N] [--partitions N] "
                   "[--rounds N] [--check] [--profile]\n");
      return false;
    }
  }
  if (o.events < 10 || o.batch < 1 || o.partitions < 1 || o.rounds < 1) {
    std::fprintf(stderr,
                 "consumer_bench: --events must be at least 10, --batch, --partitions and "
                 "--rounds at least 1\n");
    return false;
  }
  if (o.profile) o.rounds = 1;  // the server log would mix the rounds' statements
  return true;
}

int Main(int argc, char** argv) {
  Options options;
  if (!ParseOptions(argc, argv, options)) return 2;
  TempDir dir("cdc-consumer-bench");
  PgCluster cluster;
  cluster.CreateDatabase("replica");
  DevBroker broker;
  const event::TableMeta table = BenchItemsTable();
  // The dev broker keeps at most 5 MB per partition (librdkafka's mock cluster drops the oldest
  // message sets beyond that): spread the events over enough partitions to keep all of them.
  broker.CreateTopic(EventWriter::Topic(table), options.partitions);
  Model model;
  std::string copy;
  {
    EventWriter writer(broker.bootstrap(), event::Format::kAvro, 200);
    copy = Publish(writer, table, options.events, model);
  }
  if (!AllRetained(broker.bootstrap(), EventWriter::Topic(table), options.partitions)) {
    std::fprintf(stderr,
                 "the dev broker dropped the oldest events (it keeps 5 MB per partition): "
                 "use more --partitions\n");
    return 1;
  }
  pg::Connection db(cluster.Url("replica"), "consumer-bench");
  db.Exec("SET client_min_messages = warning");  // DROP TABLE IF EXISTS's notices
  db.Exec("CREATE SCHEMA baseline");
  // A fresh cluster's first large COPY also pays for creating WAL segments: one unmeasured round.
  std::fprintf(stderr, "raw COPY warm-up: %.0f rows/s\n",
               CopyOnce(db, table, copy, options.events));

  // Rounds pair a COPY with a consumer run right after it, so a slow spell of this shared machine
  // hits both sides of a ratio; the medians are reported.
  ConsumerRunSpec spec{options.events,
                       options.batch,
                       options.lanes,
                       options.profile,
                       {static_cast<int64_t>(model.qty.size()), model.QtySum(), model.RefSum()}};
  std::vector<double> copy_rates, steady, total, ratios, cpu_consumer, cpu_backends, cpu_broker;
  double rss_mb = 0;
  bool all_correct = true;
  bool clean_stops = true;
  int64_t dead_letters = 0;
  for (int round = 1; round <= options.rounds; ++round) {
    const double copy_rate = CopyOnce(db, table, copy, options.events);
    if (options.profile) LogEveryStatement(db, true);
    const ConsumerRun run = RunConsumer(cluster, broker, dir, spec, round);
    if (options.profile) LogEveryStatement(db, false);
    if (!run.finished) return 1;
    copy_rates.push_back(copy_rate);
    steady.push_back(run.steady);
    total.push_back(run.total);
    ratios.push_back(run.steady / copy_rate);
    cpu_consumer.push_back(run.cpu_consumer);
    cpu_backends.push_back(run.cpu_backends);
    cpu_broker.push_back(run.cpu_broker);
    rss_mb = std::max(rss_mb, run.rss_mb);
    all_correct = all_correct && run.correct;
    clean_stops = clean_stops && run.stop_rc == 0;
    dead_letters += run.dead_letters;
    db.Exec("DROP DATABASE replica_" + std::to_string(round));
    std::fprintf(stderr,
                 "round %d of %d: raw COPY %.0f rows/s, consumer %.0f events/s (%.0f with start), "
                 "ratio %.3f, RSS %.1f MB, CPU s consumer %.1f / backends %.1f / broker %.1f\n",
                 round, options.rounds, copy_rate, run.steady, run.total, ratios.back(), run.rss_mb,
                 run.cpu_consumer, run.cpu_backends, run.cpu_broker);
  }

  const double ratio = Median(ratios);
  const bool ratio_ok = ratio >= 0.5;
  const bool rss_ok = rss_mb > 0 && rss_mb <= 256.0;
  std::printf("events                  %lld (%zu keys; 30%% inserts, 70%% updates), %d rounds\n",
              static_cast<long long>(options.events), model.qty.size(), options.rounds);
  std::printf(
      "raw COPY                %.0f rows/s median (%s)   same rows, identical table, one "
      "transaction\n",
      Median(copy_rates), List(copy_rates, "%.0f").c_str());
  std::printf(
      "consumer (steady)       %.0f events/s median (%s)   first committed batch -> "
      "last event\n",
      Median(steady), List(steady, "%.0f").c_str());
  std::printf("consumer (with start)   %.0f events/s median   process start -> last event\n",
              Median(total));
  std::printf(
      "ratio                   %.2fx raw, median of the rounds (%s)   (target >= 0.5x: "
      "%s)\n",
      ratio, List(ratios, "%.2f").c_str(), ratio_ok ? "met" : "MISSED");
  std::printf("consumer peak RSS       %.1f MB, highest round   (target <= 256 MB: %s)\n", rss_mb,
              rss_ok ? "met" : "MISSED");
  std::printf(
      "CPU seconds             consumer %.1f, its PostgreSQL backends %.1f, dev broker "
      "%.1f (medians, 2 cores)\n",
      Median(cpu_consumer), Median(cpu_backends), Median(cpu_broker));
  std::printf("replica                 %s, %lld dead letters, clean stops: %s\n",
              all_correct ? "equals the model in every round" : "DIFFERS from the model",
              static_cast<long long>(dead_letters), clean_stops ? "yes" : "NO");
  std::printf(
      "{\"bench\":\"consumer\",\"events\":%lld,\"keys\":%zu,\"batch_max_events\":%lld,"
      "\"partitions\":%d,\"rounds\":%d,\"raw_copy_rows_per_s\":%.0f,\"consumer_events_per_s\":%.0f,"
      "\"consumer_with_start_events_per_s\":%.0f,\"ratio\":%.3f,\"ratios\":%s,\"rss_mb\":%.1f,"
      "\"cpu_consumer_s\":%.1f,\"cpu_backends_s\":%.1f,\"cpu_broker_s\":%.1f,"
      "\"correct\":%s,\"dead_letters\":%lld}\n",
      static_cast<long long>(options.events), model.qty.size(),
      static_cast<long long>(options.batch), options.partitions, options.rounds, Median(copy_rates),
      Median(steady), Median(total), ratio, ("[" + List(ratios, "%.3f") + "]").c_str(), rss_mb,
      Median(cpu_consumer), Median(cpu_backends), Median(cpu_broker),
      all_correct ? "true" : "false", static_cast<long long>(dead_letters));
  if (options.profile) {
    PrintProfile(cluster.log_path());
    PrintBatchTimings(dir.File("consumer-1.log"));
  }
  if (!all_correct || dead_letters != 0 || !clean_stops) return 1;
  if (options.check && (!ratio_ok || !rss_ok)) return 1;
  return 0;
}

}  // namespace
}  // namespace cdc::testing

int main(int argc, char** argv) { return cdc::testing::Main(argc, argv); }
