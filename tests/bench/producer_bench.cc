// Producer benchmark (issue 4): N changes (default 1M) of 10-column rows in a SQLite change table
// are published by a real cdc-producer process to the dev broker. Measured in the same run:
//   raw      one ODBC statement bulk-fetching the same change-table rows (row arrays of 1000)
//   producer changes/s from the first published change to the checkpoint covering the last one,
//            and from process start (start-up included)
//   RSS      the producer's peak resident set (VmHWM)
// Targets: producer >= 0.5x raw, RSS <= 256 MB. `--check` exits 1 when a target is missed.
//
//   build/tests/bench/producer_bench [--changes N] [--check]
#include <httplib.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "common/log.h"
#include "common/odbc/odbc.h"
#include "tests/bench/raw_fetch.h"
#include "tests/harness/bench_util.h"
#include "tests/harness/dev_broker.h"
#include "tests/harness/odbc_sources.h"
#include "tests/harness/process.h"

namespace cdc::testing {
namespace {

using Clock = std::chrono::steady_clock;

void Exec(odbc::Connection& db, const std::string& sql) { db.Execute(sql); }

// Changes made by the triggers: 40% inserts, 50% updates, 10% deletes.
int64_t Generate(odbc::Connection& db, int64_t changes) {
  const int64_t rows = changes * 4 / 10;
  const auto start = Clock::now();
  db.SetAutocommit(false);
  Exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
               std::to_string(rows) +
               ") INSERT INTO BENCH SELECT i, i % 1000, 'customer name ' || i, "
               "(i % 100000) * 1.25, strftime('%Y-%m-%d %H:%M:%f', 'now'), i * 0.5, 'NEW', i % 50, "
               "'a note about row ' || i, i * 7 FROM n");
  db.Commit();
  std::fprintf(stderr, "generate: %lld inserts\n", static_cast<long long>(rows));
  Exec(db, "UPDATE BENCH SET STATUS = 'UPDATED', QTY = QTY + 1");
  db.Commit();
  std::fprintf(stderr, "generate: %lld updates\n", static_cast<long long>(rows));
  const int64_t tenth = changes / 10;
  Exec(db,
       "UPDATE BENCH SET AMOUNT = AMOUNT + 1, NOTE = 'again' WHERE ID <= " + std::to_string(tenth));
  Exec(db, "DELETE FROM BENCH WHERE ID > " + std::to_string(tenth) +
               " AND ID <= " + std::to_string(2 * tenth));
  db.Commit();
  db.SetAutocommit(true);
  odbc::Statement count(db);
  count.ExecuteDirect("SELECT COUNT(*), MAX(CDC_SEQ) FROM BENCH_CT");
  odbc::RowBatch batch;
  count.FetchBatch(batch, 1, 64);
  const int64_t made = std::stoll(std::string(*batch.Get(0, 0)));
  std::fprintf(stderr, "generate: %lld changes in the change table (%.1f s)\n",
               static_cast<long long>(made), Seconds(Clock::now() - start));
  return std::stoll(std::string(*batch.Get(0, 1)));
}

// The raw baseline: one statement fetching every change-table row.
double RawFetchRate(odbc::Connection& db, int64_t expected) {
  const RawFetch fetch = RawBulkFetch(db, "SELECT * FROM \"BENCH_CT\" ORDER BY \"CDC_SEQ\"");
  if (fetch.rows != expected) {
    std::fprintf(stderr, "raw fetch read %lld rows, expected %lld\n",
                 static_cast<long long>(fetch.rows), static_cast<long long>(expected));
    std::exit(1);
  }
  std::fprintf(stderr, "raw fetch: %lld rows, %.1f MB of text in %.2f s\n",
               static_cast<long long>(fetch.rows), static_cast<double>(fetch.bytes) / 1e6,
               fetch.seconds);
  return fetch.RowsPerSecond();
}

int Main(int argc, char** argv) {
  int64_t changes = 1'000'000;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--changes") == 0 && i + 1 < argc) {
      changes = std::stoll(argv[++i]);
    } else if (std::strcmp(argv[i], "--check") == 0) {
      check = true;
    } else {
      std::fprintf(stderr, "usage: producer_bench [--changes N] [--check]\n");
      return 2;
    }
  }
  if (changes < 10) {
    std::fprintf(stderr, "producer_bench: --changes must be at least 10\n");
    return 2;
  }
  TempDir dir("cdc-producer-bench");
  SqliteSource source;
  odbc::Environment environment;
  odbc::Connection db(environment, source.ConnectionString() + "Timeout=20000;");
  Exec(db,
       "CREATE TABLE BENCH (ID INTEGER NOT NULL PRIMARY KEY, ACCOUNT INTEGER, NAME VARCHAR(64), "
       "AMOUNT DECIMAL(12,2), CREATED TIMESTAMP, SCORE DOUBLE, STATUS VARCHAR(16), QTY INTEGER, "
       "NOTE TEXT, REF BIGINT)");
  DevBroker broker;
  const uint16_t metrics_port = FreePort();
  const std::string config = dir.File("config.yaml");
  std::ofstream(config) << "pipeline: {name: bench}\n"
                           "log: {level: warn, format: json}\n"
                           "kafka:\n  bootstrap_servers: "
                        << broker.bootstrap() << "\nsource:\n  connection: \""
                        << source.ConnectionString()
                        << "\"\nproducer:\n  snapshot: never\n  metrics_listen: 127.0.0.1:"
                        << metrics_port << "\n  tables:\n    - name: main.BENCH\n";
  {
    Process ddl({CDC_PRODUCER_PATH, "ddl", "--config", config, "--apply"}, dir.File("ddl.log"));
    if (ddl.Wait(std::chrono::seconds(60)) != 0) {
      std::fprintf(stderr, "ddl --apply failed; see %s\n", dir.File("ddl.log").c_str());
      return 1;
    }
  }
  const int64_t max_seq = Generate(db, changes);
  const double raw_rate = RawFetchRate(db, max_seq);

  const auto started = Clock::now();
  Process producer({CDC_PRODUCER_PATH, "run", "--config", config}, dir.File("producer.log"));
  httplib::Client client("127.0.0.1", metrics_port);
  std::optional<Clock::time_point> first;
  double published = 0;
  double watermark = 0;
  auto last_progress = Clock::now();
  while (watermark < static_cast<double>(max_seq)) {
    if (!producer.running() || Seconds(Clock::now() - started) > 600) {
      std::fprintf(stderr, "producer stopped or timed out; log %s\n",
                   dir.File("producer.log").c_str());
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const auto response = client.Get("/metrics");
    if (!response || response->status != 200) continue;
    published =
        MetricSample(response->body, "cdc_producer_events_published_total{table=\"main.BENCH\"}");
    watermark =
        MetricSample(response->body, "cdc_producer_checkpoint_watermark{table=\"main.BENCH\"}");
    if (published > 0 && !first) first = Clock::now();
    if (Seconds(Clock::now() - last_progress) >= 1.0) {
      last_progress = Clock::now();
      const double elapsed = first ? Seconds(Clock::now() - *first) : 0;
      std::fprintf(stderr, "producer: %.0f events published, %.0f/s, %.1f s\n", published,
                   elapsed > 0 ? published / elapsed : 0.0, elapsed);
    }
  }
  const auto done = Clock::now();
  const int64_t rss_kb = PeakRssKb(producer.pid());
  const int stop_rc = producer.Stop(SIGTERM, std::chrono::seconds(15));

  const double steady = static_cast<double>(max_seq) / Seconds(done - first.value_or(started));
  const double total = static_cast<double>(max_seq) / Seconds(done - started);
  const double ratio = steady / raw_rate;
  const double rss_mb = static_cast<double>(rss_kb) / 1024.0;
  const bool ratio_ok = ratio >= 0.5;
  const bool rss_ok = rss_kb > 0 && rss_mb <= 256.0;
  std::printf("changes                 %lld\n", static_cast<long long>(max_seq));
  std::printf("raw ODBC bulk fetch     %.0f rows/s\n", raw_rate);
  std::printf("producer (steady)       %.0f changes/s   first publish -> checkpoint at last\n",
              steady);
  std::printf("producer (with start)   %.0f changes/s   process start -> checkpoint at last\n",
              total);
  std::printf("ratio                   %.2fx raw   (target >= 0.5x: %s)\n", ratio,
              ratio_ok ? "met" : "MISSED");
  std::printf("producer peak RSS       %.0f MB   (target <= 256 MB: %s)\n", rss_mb,
              rss_ok ? "met" : "MISSED");
  std::printf("producer exit on SIGTERM %d\n", stop_rc);
  std::printf(
      "{\"bench\":\"producer\",\"changes\":%lld,\"raw_rows_per_s\":%.0f,"
      "\"producer_changes_per_s\":%.0f,\"producer_changes_per_s_with_start\":%.0f,"
      "\"ratio\":%.3f,\"peak_rss_mb\":%.1f}\n",
      static_cast<long long>(max_seq), raw_rate, steady, total, ratio, rss_mb);
  if (stop_rc != 0) return 1;
  return check && !(ratio_ok && rss_ok) ? 1 : 0;
}

}  // namespace
}  // namespace cdc::testing

int main(int argc, char** argv) { return cdc::testing::Main(argc, argv); }
