// cdc-workload: a realistic stream of inserts, updates (including primary-key changes) and
// deletes on a source database, for the quickstart, the end-to-end tests and the benchmark.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "common/config/config.h"
#include "common/error.h"
#include "common/redact.h"
#include "common/shutdown.h"
#include "common/version.h"
#include "deploy/workload/runner.h"

namespace {

constexpr const char* kDescription = R"(cdc-workload: makes changes on a source database.

  cdc-workload init --source CONN [--schema demo|bench]
  cdc-workload run  --source CONN [--schema demo|bench] [--rate N | --count N] [--seed N]
                    [--transaction-size N] [--status-file PATH] [--init]

CONN is an ODBC connection string, e.g. "Driver=SQLite3;Database=/path/source.db;" (the SQL is
SQLite's). Schemas: demo = CUSTOMERS, PRODUCTS, ORDERS, ORDER_LINES (composite key) with
decimals, timestamps, nullable text, unicode and a blob; 35% inserts, 45% updates, 5% primary-key
changes, 15% deletes. bench = the benchmark's 10-column ITEMS table; 30% inserts, 60% updates,
10% deletes. `run` reads the existing keys first, so a second run continues the first.
--rate N makes N changes/s until stopped (or until --count); --count N alone runs as fast as
possible. Progress goes to stderr every 2 s; the totals go to stdout as one JSON line at the end.
SIGINT/SIGTERM commit the open transaction and exit 0.)";

void WriteFileAtomically(const std::string& path, const std::string& content) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << content << "\n";
  }
  std::rename(temp.c_str(), path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(kDescription, "cdc-workload");
  app.set_version_flag("--version", std::string("cdc-workload ") + cdc::kVersion);
  app.require_subcommand(1);
  std::string source;
  std::string schema = "demo";
  double rate = 0;
  int64_t count = -1;
  uint64_t seed = 0;
  int transaction_size = 500;
  std::string status_file;
  bool init_first = false;

  CLI::App* init = app.add_subcommand("init", "create the schema's tables if they are missing");
  CLI::App* run = app.add_subcommand("run", "make changes");
  for (CLI::App* command : {init, run}) {
    command->add_option("--source", source, "ODBC connection string of the source")->required();
    command->add_option("--schema", schema, "demo | bench")
        ->check(CLI::IsMember({"demo", "bench"}))
        ->capture_default_str();
  }
  run->add_option("--rate", rate, "changes per second (0 = as fast as possible)")
      ->check(CLI::Range(0.0, 1e7));
  run->add_option("--count", count, "stop after N changes")
      ->check(CLI::Range(int64_t{0}, INT64_MAX));
  run->add_option("--seed", seed, "random seed (0 = from the clock)");
  run->add_option("--transaction-size", transaction_size, "changes per transaction")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  run->add_option("--status-file", status_file, "keep the running totals (JSON) in this file");
  run->add_flag("--init", init_first, "create the schema first (as `init` does)");

  // The description lists the commands; CLI11 would list them again.
  for (CLI::App* command : app.get_subcommands({})) command->group("");
  try {
    app.parse(argc, argv);
    if (run->parsed() && rate == 0 && count < 0) {
      throw CLI::ValidationError("--rate/--count", "give --rate N, --count N or both");
    }
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : cdc::config::kConfigErrorExitCode;
  }
  if (seed == 0)
    seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());

  cdc::ShutdownSignals shutdown;  // before any thread starts
  try {
    cdc::odbc::Environment environment;
    cdc::odbc::Connection connection(environment, source);
    std::unique_ptr<cdc::workload::Planner> planner = cdc::workload::MakePlanner(schema, seed);
    cdc::SystemClock clock;
    cdc::workload::Runner runner(
        connection, *planner, clock,
        [&status_file](const std::string& line, const cdc::workload::Totals& totals) {
          std::cerr << line << std::endl;
          if (!status_file.empty()) WriteFileAtomically(status_file, totals.Json());
        });
    if (init->parsed() || init_first) {
      runner.CreateSchema();
      if (init->parsed()) {
        std::cerr << "cdc-workload: schema " << schema << " ready in " << cdc::RedactSecrets(source)
                  << "\n";
        return 0;
      }
    }
    std::string loaded;
    for (const auto& [table, rows] : runner.LoadKeys()) {
      loaded += " " + table + "=" + std::to_string(rows);
    }
    std::cerr << "cdc-workload: existing rows:" << loaded << "\n";
    cdc::workload::RunOptions options;
    options.rate = rate;
    options.count = count;
    options.transaction_size = transaction_size;
    const cdc::workload::Totals totals = runner.Run(options, shutdown.token());
    if (!status_file.empty()) WriteFileAtomically(status_file, totals.Json());
    std::cout << totals.Json() << std::endl;
    return 0;
  } catch (const cdc::Error& e) {
    std::cerr << "cdc-workload: " << cdc::RedactSecrets(e.what()) << "\n";
    return e.retry_class() == cdc::RetryClass::kFatal ? cdc::config::kConfigErrorExitCode : 1;
  }
}
