#include "tests/bench/consumer_run.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <optional>
#include <thread>

#include "common/pg/connection.h"
#include "tests/harness/bench_util.h"
#include "tests/harness/process.h"

namespace cdc::testing {
namespace {

using Clock = std::chrono::steady_clock;

// CPU seconds of the PostgreSQL backends serving the consumer (its lanes and its loop).
double BackendCpuSeconds(pg::Connection& db) {
  const pg::Result pids =
      db.Exec("SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'cdc-consumer%'");
  double total = 0;
  for (int i = 0; i < pids.rows(); ++i) {
    total += ProcessCpuSeconds(static_cast<pid_t>(pids.GetInt(i, 0)));
  }
  return total;
}

// Records consumed so far (sum of the stored next offsets), or -1 before the first commit.
int64_t Applied(pg::Connection& db) {
  try {
    const pg::Result r = db.Exec("SELECT COALESCE(sum(next_offset), -1) FROM cdc.offsets");
    return r.GetInt(0, 0);
  } catch (const std::exception&) {
    return -1;  // cdc.offsets does not exist yet
  }
}

}  // namespace

ConsumerRun RunConsumer(PgCluster& cluster, const DevBroker& broker, const TempDir& dir,
                        const ConsumerRunSpec& spec, int round) {
  const std::string database = "replica_" + std::to_string(round);
  cluster.CreateDatabase(database);
  pg::Connection db(cluster.Url(database), "consumer-bench");
  const std::string config = dir.File("config-" + std::to_string(round) + ".yaml");
  const std::string log = dir.File("consumer-" + std::to_string(round) + ".log");
  std::ofstream(config) << "pipeline: {name: bench}\n"
                           "log: {level: \""
                        << (spec.debug_log ? "debug" : "warn")
                        << "\", format: json}\n"
                           "kafka:\n  bootstrap_servers: "
                        << broker.bootstrap() << "\npostgres:\n  url: \"" << cluster.Url(database)
                        << "\"\n  schema: replica\n"
                           "consumer:\n  group_id: bench-"
                        << round
                        << "\n  topics: [cdc.BENCH.ITEMS]\n"
                           "  metrics_listen: 127.0.0.1:0\n  batch_max_events: "
                        << spec.batch << "\n";
  if (spec.lanes > 0) {
    std::ofstream(config, std::ios::app) << "  apply_lanes: " << spec.lanes << "\n";
  }
  ConsumerRun run;
  const double broker_cpu_before = ProcessCpuSeconds(broker.pid());
  const auto started = Clock::now();
  Process consumer({CDC_CONSUMER_PATH, "run", "--config", config}, log);
  std::optional<Clock::time_point> first;
  int64_t first_applied = 0;
  int64_t applied = -1;
  auto last_progress = Clock::now();
  while (applied < spec.events) {
    if (!consumer.running() || Seconds(Clock::now() - started) > 900) {
      std::fprintf(stderr, "round %d: consumer stopped or timed out; log %s\n", round, log.c_str());
      return run;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    applied = Applied(db);
    if (applied > 0 && !first) {
      first = Clock::now();
      first_applied = applied;
    }
    if (Seconds(Clock::now() - last_progress) >= 1.0) {
      last_progress = Clock::now();
      const double elapsed = first ? Seconds(Clock::now() - *first) : 0;
      std::fprintf(stderr, "round %d: consumer: %lld of %lld events applied, %.0f/s, %.1f s\n",
                   round, static_cast<long long>(std::max<int64_t>(applied, 0)),
                   static_cast<long long>(spec.events),
                   elapsed > 0 ? static_cast<double>(applied - first_applied) / elapsed : 0.0,
                   elapsed);
    }
  }
  const auto done = Clock::now();
  run.finished = true;
  run.rss_mb = static_cast<double>(PeakRssKb(consumer.pid())) / 1024.0;
  run.cpu_consumer = ProcessCpuSeconds(consumer.pid());
  run.cpu_backends = BackendCpuSeconds(db);
  run.cpu_broker = ProcessCpuSeconds(broker.pid()) - broker_cpu_before;
  run.stop_rc = consumer.Stop(SIGTERM, std::chrono::seconds(15));
  run.wall = Seconds(done - started);
  run.steady =
      static_cast<double>(spec.events - first_applied) / Seconds(done - first.value_or(started));
  run.total = static_cast<double>(spec.events) / run.wall;

  // The replica must hold exactly the model's final rows.
  const pg::Result rows =
      db.Exec("SELECT count(*), COALESCE(sum(qty), 0), COALESCE(sum(ref), 0) FROM replica.items");
  const ExpectedReplica& want = spec.expected;
  run.correct = rows.GetInt(0, 0) == want.rows && rows.GetInt(0, 1) == want.qty_sum &&
                rows.GetInt(0, 2) == want.ref_sum;
  run.dead_letters = db.Exec("SELECT count(*) FROM cdc.dead_letters").GetInt(0, 0);
  if (!run.correct || run.stop_rc != 0) {
    std::fprintf(stderr,
                 "round %d: replica: %lld rows, qty %lld, ref %lld; model: %lld rows, qty %lld, "
                 "ref %lld\n",
                 round, static_cast<long long>(rows.GetInt(0, 0)),
                 static_cast<long long>(rows.GetInt(0, 1)),
                 static_cast<long long>(rows.GetInt(0, 2)), static_cast<long long>(want.rows),
                 static_cast<long long>(want.qty_sum), static_cast<long long>(want.ref_sum));
    const pg::Result offsets =
        db.Exec("SELECT partition, next_offset FROM cdc.offsets ORDER BY partition");
    for (int i = 0; i < offsets.rows(); ++i) {
      std::fprintf(stderr, "cdc.offsets: partition %s next %s\n",
                   std::string(offsets.Get(i, 0)).c_str(), std::string(offsets.Get(i, 1)).c_str());
    }
    std::ifstream in(log);
    for (std::string line; std::getline(in, line);) std::fprintf(stderr, "%s\n", line.c_str());
  }
  return run;
}

}  // namespace cdc::testing
