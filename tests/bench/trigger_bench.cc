// Source write overhead of the generated triggers (issue 27): the same application workload -
// N inserts, N updates of one column, N deletes, in transactions of 100 statements - on a table
// without capture and on the same table with the change table and trigger(s) `cdc-producer ddl
// --apply` creates, on SQLite (through the SQLite3 ODBC driver, the application's own path) and on
// PostgreSQL (libpq), and once more with before_image (an update also records the old image).
// Reported per phase: microseconds per statement and the ratio to the uncaptured table in the
// same run.
//
//   build/tests/bench/trigger_bench [--rows N] [--rounds R]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/odbc/odbc.h"
#include "producer/ddl.h"
#include "tests/harness/bench_util.h"
#include "tests/harness/odbc_sources.h"
#include "tests/harness/pg_cluster.h"

namespace cdc::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kStatementsPerTransaction = 100;

struct PhaseTimes {
  double insert_us = 0, update_us = 0, delete_us = 0;
};

// The captured table: a key, an integer, a decimal, a float, text, a timestamp.
event::TableMeta BenchTable(const std::string& schema) {
  event::TableMeta table;
  table.schema = schema;
  table.table = "t";
  auto column = [&](const char* name, event::ColumnType type, const char* db_type) {
    event::ColumnMeta c;
    c.name = name;
    c.type = type;
    c.db_type = db_type;
    if (type == event::ColumnType::kDecimal) c.precision = 12, c.scale = 2;
    table.columns.push_back(c);
  };
  const bool sqlite = schema == "main";
  column("id", event::ColumnType::kInt64, sqlite ? "INTEGER" : "bigint");
  column("qty", event::ColumnType::kInt64, sqlite ? "INTEGER" : "integer");
  column("amount", event::ColumnType::kDecimal, sqlite ? "DECIMAL(12,2)" : "numeric(12,2)");
  column("score", event::ColumnType::kFloat64, sqlite ? "REAL" : "double precision");
  column("note", event::ColumnType::kString, sqlite ? "TEXT" : "text");
  column("created", event::ColumnType::kTimestamp, sqlite ? "TIMESTAMP" : "timestamp");
  table.key = {0};
  return table;
}

// Runs `statement(i)` for i in [0, rows) in transactions; microseconds per statement.
double Phase(int rows, const std::function<void(int)>& statement,
             const std::function<void()>& begin, const std::function<void()>& commit) {
  const auto start = Clock::now();
  for (int i = 0; i < rows; ++i) {
    if (i % kStatementsPerTransaction == 0) begin();
    statement(i);
    if (i % kStatementsPerTransaction == kStatementsPerTransaction - 1 || i == rows - 1) commit();
  }
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / rows;
}

// How a run's table is captured: not at all, or with these options.
using Capture = std::optional<producer::CaptureOptions>;

PhaseTimes SqliteRun(int rows, const Capture& capture) {
  SqliteSource source;
  odbc::Environment environment;
  odbc::Connection db(environment, source.ConnectionString() + "Timeout=20000;");
  const event::TableMeta table = BenchTable("main");
  db.Execute(
      "CREATE TABLE t (id INTEGER PRIMARY KEY, qty INTEGER, amount DECIMAL(12,2), score REAL, "
      "note TEXT, created TIMESTAMP)");
  if (capture) {
    db.SetAutocommit(false);
    for (const producer::DdlStatement& s : producer::ChangeTableDdl(
             SqlDialect::kSqlite, {"", "t"}, table, {"", "t_CT"}, {}, *capture)) {
      db.Execute(s.sql);
    }
    db.Commit();
    db.SetAutocommit(true);
  }
  odbc::Statement insert(db), update(db), remove(db);
  insert.Prepare(
      "INSERT INTO t VALUES (?, ?, 12.5, 0.25, 'a note about the row', "
      "'2026-12-07 10:00:00.123456')");
  update.Prepare("UPDATE t SET qty = qty + 1 WHERE id = ?");
  remove.Prepare("DELETE FROM t WHERE id = ?");
  auto begin = [&] { db.SetAutocommit(false); };
  auto commit = [&] {
    db.Commit();
    db.SetAutocommit(true);
  };
  PhaseTimes times;
  times.insert_us = Phase(
      rows,
      [&](int i) {
        insert.BindInt64(1, i);
        insert.BindInt64(2, i % 50);
        insert.Execute();
      },
      begin, commit);
  times.update_us = Phase(
      rows,
      [&](int i) {
        update.BindInt64(1, i);
        update.Execute();
      },
      begin, commit);
  times.delete_us = Phase(
      rows,
      [&](int i) {
        remove.BindInt64(1, i);
        remove.Execute();
      },
      begin, commit);
  return times;
}

PhaseTimes PostgresRun(const PgCluster& cluster, int rows, const Capture& capture, int round) {
  const std::string database = "bench_" + std::to_string(round) +
                               (!capture                ? "_n"
                                : capture->before_image ? "_b"
                                                        : "_c");
  cluster.CreateDatabase(database);
  pqxx::connection c(cluster.Url(database));
  const event::TableMeta table = BenchTable("public");
  {
    pqxx::work w(c);
    w.exec(
        "CREATE TABLE t (id bigint PRIMARY KEY, qty integer, amount numeric(12,2), score double "
        "precision, note text, created timestamp)");
    if (capture) {
      for (const producer::DdlStatement& s : producer::ChangeTableDdl(
               SqlDialect::kPostgres, {"public", "t"}, table, {"public", "t_CT"}, {}, *capture)) {
        w.exec(s.sql);
      }
    }
    w.commit();
  }
  c.prepare("ins",
            "INSERT INTO t VALUES ($1, $2, 12.5, 0.25, 'a note about the row', "
            "'2026-12-07 10:00:00.123456')");
  c.prepare("upd", "UPDATE t SET qty = qty + 1 WHERE id = $1");
  c.prepare("del", "DELETE FROM t WHERE id = $1");
  std::unique_ptr<pqxx::work> w;
  auto begin = [&] { w = std::make_unique<pqxx::work>(c); };
  auto commit = [&] {
    w->commit();
    w.reset();
  };
  PhaseTimes times;
  times.insert_us = Phase(
      rows, [&](int i) { w->exec_prepared("ins", i, i % 50); }, begin, commit);
  times.update_us = Phase(
      rows, [&](int i) { w->exec_prepared("upd", i); }, begin, commit);
  times.delete_us = Phase(
      rows, [&](int i) { w->exec_prepared("del", i); }, begin, commit);
  return times;
}

void Report(const char* source, const std::vector<PhaseTimes>& plain,
            const std::vector<PhaseTimes>& captured, const std::vector<PhaseTimes>& before) {
  auto row = [&](const char* phase, double PhaseTimes::*field) {
    auto median = [&](const std::vector<PhaseTimes>& runs) {
      std::vector<double> values;
      for (const PhaseTimes& t : runs) values.push_back(t.*field);
      return Median(values);
    };
    const double p = median(plain), q = median(captured), b = median(before);
    std::printf(
        "  %-8s %-7s %8.1f us -> captured %8.1f us = %.2fx, with before_image %8.1f us = %.2fx"
        "  (%.0f -> %.0f / %.0f statements/s)\n",
        source, phase, p, q, q / p, b, b / p, 1e6 / p, 1e6 / q, 1e6 / b);
  };
  row("insert", &PhaseTimes::insert_us);
  row("update", &PhaseTimes::update_us);
  row("delete", &PhaseTimes::delete_us);
}

int Main(int argc, char** argv) {
  int rows = 20'000;
  int rounds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--rows") == 0) rows = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::atoi(argv[i + 1]);
  }
  std::printf(
      "trigger overhead: %d inserts, updates, deletes per run, %d statements per "
      "transaction, median of %d rounds (alternating)\n",
      rows, kStatementsPerTransaction, rounds);
  const producer::CaptureOptions changes;
  const producer::CaptureOptions with_before{.before_image = true};
  std::vector<PhaseTimes> plain, captured, before;
  for (int r = 0; r < rounds; ++r) {
    plain.push_back(SqliteRun(rows, std::nullopt));
    captured.push_back(SqliteRun(rows, changes));
    before.push_back(SqliteRun(rows, with_before));
  }
  Report("sqlite", plain, captured, before);
  PgCluster cluster;
  plain.clear();
  captured.clear();
  before.clear();
  for (int r = 0; r < rounds; ++r) {
    plain.push_back(PostgresRun(cluster, rows, std::nullopt, r));
    captured.push_back(PostgresRun(cluster, rows, changes, r));
    before.push_back(PostgresRun(cluster, rows, with_before, r));
  }
  Report("postgres", plain, captured, before);
  return 0;
}

}  // namespace
}  // namespace cdc::testing

int main(int argc, char** argv) { return cdc::testing::Main(argc, argv); }
