// Test 6 of the producer issue, executed: `cdc-producer ddl --apply` on SQLite and on PostgreSQL
// (psqlODBC), then inserts, updates, primary-key updates (single- and multi-row) and deletes; the
// change table holds the new image for I/U, the old image for D, a D + I pair for a key change,
// increasing CDC_SEQ, a UTC CDC_TS and (PostgreSQL) one CDC_TXID per transaction. Running
// `ddl --apply` again after a column was added evolves the change table and its triggers.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <set>

#include "common/registry/topic_registry.h"
#include "tests/harness/odbc_sources.h"
#include "tests/harness/pg_cluster.h"
#include "tests/harness/pg_writers.h"
#include "tests/integration/producer/producer_fixture.h"

namespace cdc::testing {
namespace {

using Image = std::vector<std::string>;  // CDC_OP, A, B, V ("NULL" for NULL)

// The statements every dialect runs, one transaction each.
const std::vector<std::vector<std::string>> kTransactions = {
    {"INSERT INTO lines (a, b, v) VALUES (1, 1, 'x')",
     "INSERT INTO lines (a, b, v) VALUES (2, 1, NULL)"},
    {"UPDATE lines SET v = 'y' WHERE a = 1 AND b = 1"},
    {"UPDATE lines SET b = 5 WHERE a = 1 AND b = 1"},  // key change
    {"UPDATE lines SET a = a + 10"},                   // key change of every row
    {"DELETE FROM lines WHERE a = 12"},
};

// Checks the change-table rows (ordered by CDC_SEQ) the transactions above produce.
void ExpectImages(const std::vector<Image>& rows) {
  ASSERT_EQ(rows.size(), 10u);
  EXPECT_EQ(rows[0], (Image{"I", "1", "1", "x"}));
  EXPECT_EQ(rows[1], (Image{"I", "2", "1", "NULL"}));
  EXPECT_EQ(rows[2], (Image{"U", "1", "1", "y"}));  // new image
  EXPECT_EQ(rows[3], (Image{"D", "1", "1", "y"}));  // key change: D of the old key ...
  EXPECT_EQ(rows[4], (Image{"I", "1", "5", "y"}));  // ... and I of the new one
  // The multi-row key change: a D + I pair per row, in either row order.
  std::vector<Image> pairs(rows.begin() + 5, rows.begin() + 9);
  if (pairs[0][1] == "2") std::swap_ranges(pairs.begin(), pairs.begin() + 2, pairs.begin() + 2);
  EXPECT_EQ(pairs, (std::vector<Image>{{"D", "1", "5", "y"},
                                       {"I", "11", "5", "y"},
                                       {"D", "2", "1", "NULL"},
                                       {"I", "12", "1", "NULL"}}));
  EXPECT_EQ(rows[9], (Image{"D", "12", "1", "NULL"}));  // old image
}

std::string LinesConfig(const std::string& connection, const std::string& table) {
  return ProducerConfig("127.0.0.1:1", connection, "    - name: " + table + "\n");
}

int ApplyDdl(const std::string& config, const std::string& log, std::string* output) {
  Process apply({CDC_PRODUCER_PATH, "ddl", "--config", config, "--apply"}, log);
  *output = apply.ReadLine(std::chrono::seconds(30)).value_or("");
  return apply.Wait(std::chrono::seconds(30)).value_or(-1);
}

TEST(ChangeTables, SqliteTriggersRecordImagesKeyChangesAndEvolve) {
  SqliteSource source;
  TempDir dir("cdc-ct-sqlite");
  odbc::Environment environment;
  odbc::Connection db(environment, source.ConnectionString());
  db.Execute(
      "CREATE TABLE lines (a INTEGER NOT NULL, b INTEGER NOT NULL, v TEXT, PRIMARY KEY (a, b))");
  const std::string config = dir.File("config.yaml");
  WriteText(config, LinesConfig(source.ConnectionString(), "main.lines"));
  std::string output;
  ASSERT_EQ(ApplyDdl(config, dir.File("ddl.log"), &output), 0) << Tail(dir.File("ddl.log"));
  EXPECT_NE(output.find("(created)"), std::string::npos) << output;

  for (const auto& transaction : kTransactions) {
    db.SetAutocommit(false);
    for (const std::string& sql : transaction) db.Execute(sql);
    db.Commit();
    db.SetAutocommit(true);
  }
  std::vector<Image> rows;
  int64_t last_seq = 0;
  for (const auto& row : Query(db,
                               "SELECT CDC_SEQ, CDC_OP, a, b, v, "
                               "abs(julianday('now') - julianday(CDC_TS)) * 86400 FROM lines_CT "
                               "ORDER BY CDC_SEQ")) {
    EXPECT_GT(std::stoll(*row[0]), last_seq);
    last_seq = std::stoll(*row[0]);
    EXPECT_LT(std::stod(*row[5]), 60.0) << "CDC_TS is not the UTC time of the change";
    rows.push_back({*row[1], *row[2], *row[3], row[4].value_or("NULL")});
  }
  ExpectImages(rows);

  // A column added to the table: ddl --apply again adds it to the change table and the triggers.
  db.Execute("ALTER TABLE lines ADD COLUMN extra TEXT");
  ASSERT_EQ(ApplyDdl(config, dir.File("ddl.log"), &output), 0) << Tail(dir.File("ddl.log"));
  EXPECT_NE(output.find("(evolved)"), std::string::npos) << output;
  db.Execute("INSERT INTO lines (a, b, v, extra) VALUES (7, 7, 'z', 'added')");
  db.Execute("UPDATE lines SET extra = 'changed' WHERE a = 7");
  const auto evolved = Query(db, "SELECT CDC_OP, extra FROM lines_CT WHERE a = 7 ORDER BY CDC_SEQ");
  ASSERT_EQ(evolved.size(), 2u);
  EXPECT_EQ(evolved[0][1], "added");
  EXPECT_EQ(evolved[1][0], "U");
  EXPECT_EQ(evolved[1][1], "changed");
}

TEST(ChangeTables, PostgresTriggersRecordImagesKeyChangesTransactionIdsAndEvolve) {
  PgCluster cluster;
  PostgresOdbcSource source(cluster, "ctsrc");
  TempDir dir("cdc-ct-pg");
  pqxx::connection db(cluster.Url("ctsrc"));
  {
    pqxx::work w(db);
    w.exec(
        "CREATE TABLE lines (a integer NOT NULL, b integer NOT NULL, v text, PRIMARY KEY (a, b))");
    w.commit();
  }
  const std::string config = dir.File("config.yaml");
  WriteText(config, LinesConfig(source.ConnectionString(), "public.lines"));
  std::string output;
  ASSERT_EQ(ApplyDdl(config, dir.File("ddl.log"), &output), 0) << Tail(dir.File("ddl.log"));
  EXPECT_NE(output.find("(created)"), std::string::npos) << output;

  for (const auto& transaction : kTransactions) {
    pqxx::work w(db);
    for (const std::string& sql : transaction) w.exec(sql);
    w.commit();
  }
  pqxx::work read(db);
  std::vector<Image> rows;
  std::vector<std::string> txids;
  int64_t last_seq = 0;
  for (const auto& row :
       read.exec("SELECT \"CDC_SEQ\", \"CDC_OP\", a, b, coalesce(v, 'NULL'), \"CDC_TXID\", "
                 "abs(extract(epoch FROM (now() AT TIME ZONE 'UTC') - \"CDC_TS\")) "
                 "FROM public.\"lines_CT\" ORDER BY \"CDC_SEQ\"")) {
    EXPECT_GT(row[0].as<int64_t>(), last_seq);
    last_seq = row[0].as<int64_t>();
    EXPECT_LT(row[6].as<double>(), 60.0) << "CDC_TS is not the UTC time of the change";
    rows.push_back({row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<std::string>(),
                    row[4].as<std::string>()});
    txids.push_back(row[5].as<std::string>());
  }
  read.commit();
  ExpectImages(rows);
  // One transaction id per transaction: rows 0-1, 2, 3-4, 5-8, 9.
  ASSERT_EQ(txids.size(), 10u);
  EXPECT_EQ(txids[0], txids[1]);
  EXPECT_EQ(txids[3], txids[4]);
  EXPECT_EQ(txids[5], txids[8]);
  EXPECT_EQ((std::set<std::string>{txids[0], txids[2], txids[3], txids[5], txids[9]}).size(), 5u);

  {
    pqxx::work w(db);
    w.exec("ALTER TABLE lines ADD COLUMN extra numeric(10,3)");
    w.commit();
  }
  ASSERT_EQ(ApplyDdl(config, dir.File("ddl.log"), &output), 0) << Tail(dir.File("ddl.log"));
  EXPECT_NE(output.find("(evolved)"), std::string::npos) << output;
  pqxx::work w(db);
  w.exec("INSERT INTO lines (a, b, v, extra) VALUES (7, 7, 'z', 1.250)");
  w.exec("UPDATE lines SET b = 8 WHERE a = 7");
  const auto evolved = w.exec(
      "SELECT \"CDC_OP\", b, extra::text FROM public.\"lines_CT\" WHERE a = 7 ORDER BY "
      "\"CDC_SEQ\"");
  ASSERT_EQ(evolved.size(), 3u);
  EXPECT_EQ(evolved[0][2].as<std::string>(), "1.250");
  EXPECT_EQ(evolved[1][0].as<std::string>() + evolved[1][1].as<std::string>(), "D7");
  EXPECT_EQ(evolved[2][0].as<std::string>() + evolved[2][1].as<std::string>(), "I8");
  EXPECT_EQ(evolved[2][2].as<std::string>(), "1.250");
}

// The application's role may write its table and nothing else: the trigger still records its
// writes (the function runs with its owner's rights), and a role cannot redirect it through its
// search_path.
TEST(ChangeTables, PostgresApplicationRolesNeedNoGrantOnTheChangeTable) {
  PgCluster cluster;
  PostgresOdbcSource source(cluster, "roles");
  TempDir dir("cdc-roles");
  cluster.Psql("roles",
               "CREATE SCHEMA s; CREATE TABLE s.priv (id integer PRIMARY KEY, v text); "
               "CREATE ROLE app LOGIN; GRANT USAGE ON SCHEMA s TO app; "
               "GRANT SELECT, INSERT, UPDATE, DELETE ON s.priv TO app; "
               "CREATE TABLE public.orders (id integer PRIMARY KEY); "
               "GRANT ALL ON public.orders TO app");
  const std::string config = dir.File("config.yaml");
  WriteText(config, ProducerConfig("127.0.0.1:1", source.ConnectionString(),
                                   "    - name: s.priv\n    - name: orders\n"));
  Process apply({CDC_PRODUCER_PATH, "ddl", "--config", config, "--apply"}, dir.File("ddl.log"));
  ASSERT_EQ(apply.Wait(std::chrono::seconds(30)), 0) << Tail(dir.File("ddl.log"));
  const std::string url = "postgresql://app@127.0.0.1:" + std::to_string(cluster.port()) + "/roles";
  pqxx::connection app(url);
  pqxx::work w(app);
  // A table of the caller's own named like the change table, first in its search path.
  w.exec("CREATE TEMP TABLE \"orders_CT\" (x integer)");
  w.exec("SET search_path = pg_temp, s, public");
  w.exec("INSERT INTO s.priv VALUES (1, 'a')");
  w.exec("UPDATE s.priv SET v = 'b' WHERE id = 1");
  w.exec("DELETE FROM s.priv WHERE id = 1");
  w.exec("INSERT INTO public.orders VALUES (7)");
  EXPECT_EQ(w.exec("SELECT count(*) FROM pg_temp.\"orders_CT\"")[0][0].as<int>(), 0);
  w.commit();
  EXPECT_EQ(cluster.Psql("roles",
                         "SELECT string_agg(\"CDC_OP\", '' ORDER BY \"CDC_SEQ\") FROM "
                         "s.\"priv_CT\""),
            "IUD");
  EXPECT_EQ(cluster.Psql("roles", "SELECT count(*) FROM public.\"orders_CT\""), "1");
}

// `check` names what differs between a change table (or its trigger) and its table, fails, and
// is clean again after `ddl --apply`; `run` logs it at the table's start.
TEST(ChangeTables, CheckReportsAChangeTableOutOfDateWithItsTable) {
  DevBroker broker;
  PgCluster cluster;
  PostgresOdbcSource pg(cluster, "drift");
  SqliteSource lite;
  TempDir dir("cdc-drift");
  cluster.Psql("drift", "CREATE TABLE d (id integer PRIMARY KEY, a integer, b text)");
  odbc::Environment environment;
  odbc::Connection db(environment, lite.ConnectionString() + "Timeout=20000;");
  db.Execute("CREATE TABLE d (id INTEGER PRIMARY KEY, a INTEGER, b TEXT)");
  for (const std::string& connection : {pg.ConnectionString(), lite.ConnectionString()}) {
    const bool postgres = connection == pg.ConnectionString();
    const std::string config = dir.File(postgres ? "pg.yaml" : "lite.yaml");
    WriteText(config, ProducerConfig(broker.bootstrap(), connection, "    - name: d\n"));
    ASSERT_EQ(RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log")).first, 0);
    auto check = [&] { return RunCommand({"check", "--config", config}, dir.File("check.log")); };
    EXPECT_NE(check().second.find("table d: ok"), std::string::npos) << check().second;
    if (postgres) {
      // Let through as ddl's DDL guard documents (it refuses a plain ALTER that drops or
      // retypes a captured column).
      cluster.Psql("drift",
                   "BEGIN; SET LOCAL cdc.ddl_guard = off; ALTER TABLE d ADD COLUMN c "
                   "text, ALTER COLUMN a TYPE bigint, DROP COLUMN b; COMMIT");
    } else {
      db.Execute("ALTER TABLE d ADD COLUMN c TEXT");
    }
    const auto [rc, report] = check();
    EXPECT_EQ(rc, 1) << report;
    std::vector<std::string> expected = {"table d: OUT OF DATE",
                                         "  column c is not in the change table",
                                         "  run cdc-producer ddl --apply"};
    if (postgres) {
      expected.insert(expected.end(),
                      {"  column a is integer in the change table, bigint in the table needs",
                       "  the trigger function is not the one ddl generates for the table now"});
    } else {
      expected.push_back("  trigger d_CT_INS is not the one ddl generates for the table now");
    }
    for (const std::string& line : expected) {
      EXPECT_NE(report.find(line), std::string::npos) << line << "\n" << report;
    }
    Process run({CDC_PRODUCER_PATH, "run", "--config", config}, dir.File("run.log"));
    EXPECT_TRUE(WaitFor(
        [&] { return CountInFile(dir.File("run.log"), "is out of date with the table") > 0; },
        std::chrono::seconds(20)))
        << Tail(dir.File("run.log"));
    run.Stop(SIGTERM, std::chrono::seconds(20));
    ASSERT_EQ(RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log")).first, 0);
    const std::string after = check().second;
    EXPECT_NE(after.find("table d: ok"), std::string::npos) << after;
  }
}

// `ddl --apply` evolving a change table while the application writes: it takes the table's lock
// before the change table's, as the writers do, so no writer is ever chosen as a deadlock victim
// (an independent tester saw 1 of 557 transactions fail before).
TEST(ChangeTables, EvolvingUnderConcurrentWritersNeverDeadlocks) {
  PgCluster cluster;
  PostgresOdbcSource source(cluster, "evolve");
  TempDir dir("cdc-evolve");
  cluster.Psql("evolve", "CREATE TABLE t (id serial PRIMARY KEY, v integer)");
  const std::string config = dir.File("config.yaml");
  WriteText(config, ProducerConfig("127.0.0.1:1", source.ConnectionString(), "    - name: t\n"));
  ASSERT_EQ(RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log")).first, 0);
  PgWriters writers(cluster.Url("evolve"), 4, [](pqxx::work& tx, int) {
    tx.exec("INSERT INTO t (v) VALUES (1)");
    tx.exec("UPDATE t SET v = v + 1 WHERE id = (SELECT max(id) FROM t)");
  });
  int ddl_failures = 0;
  for (int i = 0; i < 8; ++i) {
    cluster.Psql("evolve", "ALTER TABLE t ADD COLUMN c" + std::to_string(i) + " integer");
    ddl_failures += RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log")).first;
  }
  writers.Stop();
  EXPECT_EQ(writers.failed(), 0) << writers.failure();
  EXPECT_EQ(ddl_failures, 0) << Tail(dir.File("ddl.log"));
  EXPECT_GT(writers.committed(), 100);
  // Every committed write was captured: two changes per transaction.
  EXPECT_EQ(cluster.Psql("evolve", "SELECT count(*) FROM \"t_CT\""),
            std::to_string(2 * writers.committed()));
}

}  // namespace
}  // namespace cdc::testing
