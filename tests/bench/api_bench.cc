// API benchmark (issue 6): a real cdc-api over a real PostgreSQL holding an N-row table (default
// 1M) shaped as cdc-consumer writes it, loaded with wrk on the same machine at 32 connections:
//   by key   GET /api/v1/tables/items/rows/{random id}          target >= 20k req/s, p99 <= 10 ms
//   page     GET /api/v1/tables/items/rows?limit=50&id__gte=R   target >= 5k req/s
//   health   GET /health: the server's own ceiling in the same run
//   pgbench  the raw PostgreSQL ceiling in the same run: pgbench's prepared point select of the
//   same
//            rows at the API's pool size and at the benchmark's connection count
// Prints a human summary and one JSON line; `--check` exits 1 when a target is missed.
//
//   build/tests/bench/api_bench [--rows N] [--seconds S] [--connections C] [--check]
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>

#include "common/log.h"
#include "common/pg/connection.h"
#include "consumer/migrations.h"
#include "consumer/target_catalog.h"
#include "tests/harness/bench_table.h"
#include "tests/harness/pg_cluster.h"
#include "tests/harness/process.h"

namespace cdc::testing {
namespace {

struct WrkResult {
  double requests_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  int64_t errors = 0;  // non-2xx/3xx responses and socket errors
};

double Millis(const std::string& value, const std::string& unit) {
  const double v = std::stod(value);
  if (unit == "us") return v / 1000.0;
  if (unit == "s") return v * 1000.0;
  return v;
}

// Runs wrk with `script` (Lua) against the API and parses its report.
WrkResult RunWrk(const TempDir& dir, const std::string& name, const std::string& script,
                 uint16_t port, int connections, int seconds) {
  const std::string script_path = dir.File(name + ".lua");
  std::ofstream(script_path) << script;
  std::string output;
  const std::string command = "wrk -t2 -c" + std::to_string(connections) + " -d" +
                              std::to_string(seconds) + "s --latency -s " + script_path +
                              " http://127.0.0.1:" + std::to_string(port) + " 2>&1";
  if (RunShell(command, &output) != 0) {
    std::ifstream log(dir.File("api.log"));
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "wrk failed:\n%s\ncdc-api log:\n%s\n", output.c_str(), text.c_str());
    std::exit(1);
  }
  WrkResult result;
  std::smatch m;
  if (std::regex_search(output, m, std::regex(R"(Requests/sec:\s+([0-9.]+))"))) {
    result.requests_per_second = std::stod(m[1]);
  }
  if (std::regex_search(output, m, std::regex(R"(\n\s+50%\s+([0-9.]+)(us|ms|s))"))) {
    result.p50_ms = Millis(m[1], m[2]);
  }
  if (std::regex_search(output, m, std::regex(R"(\n\s+99%\s+([0-9.]+)(us|ms|s))"))) {
    result.p99_ms = Millis(m[1], m[2]);
  }
  if (std::regex_search(output, m, std::regex(R"(Non-2xx or 3xx responses:\s+([0-9]+))"))) {
    result.errors += std::stoll(m[1]);
  }
  if (std::regex_search(
          output, m,
          std::regex(R"(Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+))"))) {
    result.errors += std::stoll(m[1]) + std::stoll(m[2]) + std::stoll(m[3]) + std::stoll(m[4]);
  }
  std::fprintf(stderr, "%s: %.0f req/s, p50 %.2f ms, p99 %.2f ms, %lld errors\n", name.c_str(),
               result.requests_per_second, result.p50_ms, result.p99_ms,
               static_cast<long long>(result.errors));
  if (result.errors > 0) std::fprintf(stderr, "wrk's report:\n%s\n", output.c_str());
  return result;
}

// Transactions/s of pgbench running `SELECT * FROM replica.items WHERE id = random` (prepared).
double PgbenchPointSelects(const PgCluster& cluster, const TempDir& dir, int64_t rows, int clients,
                           int seconds) {
  const std::string script = dir.File("point.sql");
  std::ofstream(script) << "\\set id random(1, " << rows
                        << ")\nSELECT * FROM replica.items WHERE id = :id;\n";
  std::string output;
  RunShell("chmod a+r " + script + " && " + cluster.bin_dir() + "/pgbench -n -M prepared -c " +
               std::to_string(clients) + " -j 2 -T " + std::to_string(seconds) + " -f " + script +
               " '" + cluster.Url("replica") + "' 2>&1",
           &output);
  std::smatch m;
  if (!std::regex_search(output, m, std::regex(R"(tps = ([0-9.]+))"))) {
    std::fprintf(stderr, "pgbench failed:\n%s\n", output.c_str());
    return 0;
  }
  std::fprintf(stderr, "pgbench -c %d: %s tps\n", clients, m[1].str().c_str());
  return std::stod(m[1]);
}

int Main(int argc, char** argv) {
  int64_t rows = 1'000'000;
  int seconds = 10;
  int connections = 32;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--rows") == 0 && i + 1 < argc) {
      rows = std::stoll(argv[++i]);
    } else if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      seconds = std::stoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--connections") == 0 && i + 1 < argc) {
      connections = std::stoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--check") == 0) {
      check = true;
    } else {
      std::fprintf(stderr,
                   "usage: api_bench [--rows N] [--seconds S] [--connections C] [--check]\n");
      return 2;
    }
  }
  if (rows < 100 || seconds < 1 || connections < 1) {
    std::fprintf(stderr, "api_bench: --rows >= 100, --seconds >= 1, --connections >= 1\n");
    return 2;
  }
  TempDir dir("cdc-api-bench");
  PgCluster cluster;
  cluster.CreateDatabase("replica");
  {
    pg::Connection db(cluster.Url("replica"), "api-bench");
    Logging logging(LogFormat::kText, LogLevel::kWarn);
    consumer::ApplyMigrations(db, logging.Get("bench"));
    consumer::TargetCatalog catalog("replica", false, logging.Get("bench"));
    catalog.Prepare(db, "items", "cdc.BENCH.ITEMS", BenchItemsTable(), 1);
    std::fprintf(stderr, "load: %lld rows\n", static_cast<long long>(rows));
    db.Exec(
        "INSERT INTO replica.items SELECT i, i % 1000, 'customer name ' || i, (i % 100000) * 1.25,"
        " '2026-11-18'::timestamp + i * interval '1 second', i * 0.5, 'ACTIVE', i % 50,"
        " 'a note about row ' || i, i * 7, i, 'c', now(), now(), NULL"
        " FROM generate_series(1, " +
        std::to_string(rows) + ") i");
    db.Exec("VACUUM ANALYZE replica.items");
  }
  const uint16_t port = FreePort();
  const std::string config = dir.File("api.yaml");
  std::ofstream(config) << "pipeline: {name: bench}\nlog: {level: warn, format: json}\n"
                           "postgres:\n  url: \""
                        << cluster.Url("replica")
                        << "\"\n  schema: replica\napi:\n  listen: 127.0.0.1:" << port << "\n";
  if (const char* extra = std::getenv("API_BENCH_EXTRA_CONFIG"))
    std::ofstream(config, std::ios::app) << extra;
  Process api({CDC_API_PATH, "run", "--config", config}, dir.File("api.log"));
  for (int i = 0; i < 200 && RunShell("curl -sf http://127.0.0.1:" + std::to_string(port) +
                                      "/health >/dev/null") != 0;
       ++i) {
    usleep(50'000);
  }
  const std::string n = std::to_string(rows);
  const WrkResult health =
      RunWrk(dir, "health", "request = function() return wrk.format('GET', '/health') end\n", port,
             connections, seconds);
  const WrkResult by_key =
      RunWrk(dir, "by_key",
             "math.randomseed(7)\nrequest = function() return wrk.format('GET', "
             "'/api/v1/tables/items/rows/' .. math.random(1, " +
                 n + ")) end\n",
             port, connections, seconds);
  const WrkResult page = RunWrk(dir, "page",
                                "math.randomseed(9)\nrequest = function() return wrk.format('GET', "
                                "'/api/v1/tables/items/rows?limit=50&id__gte=' .. math.random(1, " +
                                    n + ")) end\n",
                                port, connections, seconds);
  const int stop_rc = api.Stop(SIGTERM, std::chrono::seconds(15));
  const double pgbench_pool = PgbenchPointSelects(cluster, dir, rows, 8, seconds);
  const double pgbench_connections = PgbenchPointSelects(cluster, dir, rows, connections, seconds);

  const bool key_ok = by_key.requests_per_second >= 20'000 && by_key.p99_ms <= 10.0;
  const bool page_ok = page.requests_per_second >= 5'000;
  const bool clean = health.errors + by_key.errors + page.errors == 0 && stop_rc == 0;
  std::printf(
      "rows                    %lld, %d connections, %d s per run, wrk on the same machine\n",
      static_cast<long long>(rows), connections, seconds);
  std::printf("GET /health             %.0f req/s   p99 %.2f ms   (the server's ceiling)\n",
              health.requests_per_second, health.p99_ms);
  std::printf(
      "GET row by key          %.0f req/s   p50 %.2f ms   p99 %.2f ms   (target >= 20k, "
      "p99 <= 10 ms: %s)\n",
      by_key.requests_per_second, by_key.p50_ms, by_key.p99_ms, key_ok ? "met" : "MISSED");
  std::printf(
      "GET 50-row page         %.0f req/s   p50 %.2f ms   p99 %.2f ms   (target >= 5k: %s)\n",
      page.requests_per_second, page.p50_ms, page.p99_ms, page_ok ? "met" : "MISSED");
  std::printf(
      "pgbench point select    %.0f tps at 8 clients, %.0f tps at %d   (raw PostgreSQL, "
      "same rows)\n",
      pgbench_pool, pgbench_connections, connections);
  std::printf("errors                  %lld, clean stop: %s\n",
              static_cast<long long>(health.errors + by_key.errors + page.errors),
              stop_rc == 0 ? "yes" : "NO");
  std::printf(
      "{\"bench\":\"api\",\"rows\":%lld,\"connections\":%d,\"health_rps\":%.0f,"
      "\"by_key_rps\":%.0f,\"by_key_p99_ms\":%.2f,\"page_rps\":%.0f,\"page_p99_ms\":%.2f,"
      "\"pgbench_8_tps\":%.0f,\"pgbench_c_tps\":%.0f,\"errors\":%lld}\n",
      static_cast<long long>(rows), connections, health.requests_per_second,
      by_key.requests_per_second, by_key.p99_ms, page.requests_per_second, page.p99_ms,
      pgbench_pool, pgbench_connections,
      static_cast<long long>(health.errors + by_key.errors + page.errors));
  if (!clean) return 1;
  if (check && (!key_ok || !page_ok)) return 1;
  return 0;
}

}  // namespace
}  // namespace cdc::testing

int main(int argc, char** argv) { return cdc::testing::Main(argc, argv); }
