// Catalog look-ups match exact names (issue 27, item 2). SQLColumns and SQLPrimaryKeys take
// search patterns, so `t_x` also matched `tax` and `T%` matched `TX`: the change table and trigger
// then carried another table's columns and every application write failed. Checked on PostgreSQL
// (psqlODBC) and SQLite (sqliteodbc), through the catalog reader and through `ddl --apply` plus
// the application's own writes.
#include "producer/catalog.h"

#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "common/error.h"
#include "tests/harness/odbc_sources.h"
#include "tests/harness/pg_cluster.h"
#include "tests/integration/producer/producer_fixture.h"

namespace cdc::testing {
namespace {

using producer::ReadTableMeta;
using producer::TableName;

std::vector<std::string> ColumnNames(const event::TableMeta& table) {
  std::vector<std::string> names;
  for (const event::ColumnMeta& column : table.columns) names.push_back(column.name);
  return names;
}

std::vector<std::string> KeyNames(const event::TableMeta& table) {
  std::vector<std::string> names;
  for (size_t k : table.key) names.push_back(table.columns[k].name);
  return names;
}

event::TableMeta Read(odbc::Connection& connection, SqlDialect dialect, const std::string& name) {
  return ReadTableMeta(connection, dialect, TableName::Parse(name), {}, "test");
}

TEST(Catalog, PostgresLooksUpExactNamesNotPatterns) {
  PgCluster cluster;
  PostgresOdbcSource source(cluster, "catsrc");
  TempDir dir("cdc-catalog-pg");
  pqxx::connection db(cluster.Url("catsrc"));
  {
    pqxx::work w(db);
    w.exec("CREATE SCHEMA shop");
    w.exec("CREATE TABLE shop.t_x (id integer PRIMARY KEY, a text)");
    w.exec("CREATE TABLE shop.tax (rate integer PRIMARY KEY, b text, c integer)");
    w.exec("CREATE TABLE shop.\"T%\" (k integer PRIMARY KEY, x text)");
    w.exec("CREATE TABLE shop.\"TX\" (j integer PRIMARY KEY, y text, z text)");
    w.exec("CREATE SCHEMA s_x");
    w.exec("CREATE SCHEMA sax");
    w.exec("CREATE TABLE s_x.t (id integer PRIMARY KEY, mine text)");
    w.exec("CREATE TABLE sax.t (other integer PRIMARY KEY, theirs text, more text)");
    w.commit();
  }
  odbc::Environment environment;
  odbc::Connection connection(environment, source.ConnectionString());
  const SqlDialect pg = SqlDialect::kPostgres;
  EXPECT_EQ(ColumnNames(Read(connection, pg, "shop.t_x")), (std::vector<std::string>{"id", "a"}));
  EXPECT_EQ(KeyNames(Read(connection, pg, "shop.t_x")), (std::vector<std::string>{"id"}));
  EXPECT_EQ(ColumnNames(Read(connection, pg, "shop.T%")), (std::vector<std::string>{"k", "x"}));
  EXPECT_EQ(KeyNames(Read(connection, pg, "shop.T%")), (std::vector<std::string>{"k"}));
  EXPECT_EQ(ColumnNames(Read(connection, pg, "s_x.t")), (std::vector<std::string>{"id", "mine"}));
  EXPECT_EQ(KeyNames(Read(connection, pg, "s_x.t")), (std::vector<std::string>{"id"}));
  // A name without a schema that two schemas hold is never read as a mix of both: psqlODBC looks
  // in the search path only (not found); a driver that lists every schema (Oracle's, with no owner
  // given) gets "exists in schemas ... name it as SCHEMA.TABLE".
  try {
    const event::TableMeta mixed = Read(connection, pg, "t");
    ADD_FAILURE() << "read t as " << ColumnNames(mixed).size() << " columns";
  } catch (const PermanentError& e) {
    EXPECT_EQ(e.code(), "TABLE") << e.what();
  }

  // The generated change tables and triggers: the application's writes go through.
  const std::string config = dir.File("config.yaml");
  WriteText(config,
            ProducerConfig("127.0.0.1:1", source.ConnectionString(),
                           "    - name: shop.t_x\n    - name: shop.T%\n      topic: t_percent\n"));
  Process apply({CDC_PRODUCER_PATH, "ddl", "--config", config, "--apply"}, dir.File("ddl.log"));
  ASSERT_EQ(apply.Wait(std::chrono::seconds(30)), 0) << Tail(dir.File("ddl.log"));
  pqxx::work w(db);
  w.exec("INSERT INTO shop.t_x VALUES (1, 'one')");
  w.exec("UPDATE shop.t_x SET a = 'uno' WHERE id = 1");
  w.exec("DELETE FROM shop.t_x WHERE id = 1");
  w.exec("INSERT INTO shop.\"T%\" VALUES (7, 'seven')");
  w.exec("UPDATE shop.\"T%\" SET x = 'sieben' WHERE k = 7");
  EXPECT_EQ(w.exec("SELECT count(*) FROM shop.\"t_x_CT\"")[0][0].as<int>(), 3);
  EXPECT_EQ(w.exec("SELECT count(*) FROM shop.\"T%_CT\"")[0][0].as<int>(), 2);
  EXPECT_EQ(w.exec("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'shop'"
                   " AND table_name = 't_x_CT'")[0][0]
                .as<int>(),
            6);  // CDC_SEQ, CDC_OP, CDC_TS, CDC_TXID, id, a
  w.commit();
}

TEST(Catalog, SqliteLooksUpExactNamesNotPatterns) {
  SqliteSource source;
  TempDir dir("cdc-catalog-sqlite");
  odbc::Environment environment;
  odbc::Connection connection(environment, source.ConnectionString());
  connection.Execute("CREATE TABLE t_x (id INTEGER PRIMARY KEY, a TEXT)");
  connection.Execute("CREATE TABLE tax (rate INTEGER PRIMARY KEY, b TEXT, c INTEGER)");
  connection.Execute("CREATE TABLE \"T%\" (k INTEGER PRIMARY KEY, x TEXT)");
  connection.Execute("CREATE TABLE \"TX\" (j INTEGER PRIMARY KEY, y TEXT, z TEXT)");
  const SqlDialect lite = SqlDialect::kSqlite;
  EXPECT_EQ(ColumnNames(Read(connection, lite, "main.t_x")), (std::vector<std::string>{"id", "a"}));
  EXPECT_EQ(KeyNames(Read(connection, lite, "main.t_x")), (std::vector<std::string>{"id"}));
  EXPECT_EQ(ColumnNames(Read(connection, lite, "main.T%")), (std::vector<std::string>{"k", "x"}));
  // SQLite's names are case-insensitive, as they were before.
  EXPECT_EQ(ColumnNames(Read(connection, lite, "main.T_X")), (std::vector<std::string>{"id", "a"}));

  const std::string config = dir.File("config.yaml");
  WriteText(config,
            ProducerConfig("127.0.0.1:1", source.ConnectionString(),
                           "    - name: main.t_x\n    - name: main.T%\n      topic: t_percent\n"));
  Process apply({CDC_PRODUCER_PATH, "ddl", "--config", config, "--apply"}, dir.File("ddl.log"));
  ASSERT_EQ(apply.Wait(std::chrono::seconds(30)), 0) << Tail(dir.File("ddl.log"));
  connection.Execute("INSERT INTO t_x VALUES (1, 'one')");
  connection.Execute("UPDATE t_x SET a = 'uno' WHERE id = 1");
  connection.Execute("INSERT INTO \"T%\" VALUES (7, 'seven')");
  EXPECT_EQ(Seqs(connection, "t_x_CT").size(), 2u);
  EXPECT_EQ(Seqs(connection, "\"T%_CT\"").size(), 1u);
}

// Names that streaming cannot carry are refused by ddl before anything is created, naming each
// column and the rule (issue 27, item 4). (Names that differ only in case, which SQLite itself
// refuses, are ColumnNameProblems' unit test; dots and spaces stream: the type walk.)
TEST(Catalog, DdlRefusesNamesTheReplicaOrChangeTableCannotHold) {
  SqliteSource source;
  TempDir dir("cdc-catalog-names");
  odbc::Environment environment;
  odbc::Connection connection(environment, source.ConnectionString());
  const std::string long_name(64, 'n');
  connection.Execute(
      "CREATE TABLE bad (id INTEGER PRIMARY KEY, \"_CDC_OP\" TEXT, \"cdc_seq\" "
      "TEXT, \"" +
      long_name + "\" TEXT, \"Amount\" TEXT, \"AMOUNT \" TEXT)");
  const std::string config = dir.File("config.yaml");
  WriteText(config,
            ProducerConfig("127.0.0.1:1", source.ConnectionString(), "    - name: main.bad\n"));
  Process apply({CDC_PRODUCER_PATH, "ddl", "--config", config, "--apply"}, dir.File("ddl.log"));
  EXPECT_EQ(apply.Wait(std::chrono::seconds(30)), 1);
  const std::string log = Tail(dir.File("ddl.log"));
  for (const std::string expected :
       {"column \\\"_CDC_OP\\\" of main.bad: names beginning with _cdc_ are reserved",
        "column \\\"cdc_seq\\\" of main.bad: the change table's metadata column has that name",
        "64 bytes, over the replica's limit of 63"}) {
    EXPECT_NE(log.find(expected), std::string::npos) << expected << "\n" << log;
  }
  EXPECT_EQ(log.find("AMOUNT"), std::string::npos) << "\"Amount\" and \"AMOUNT \" differ:\n" << log;
  // Nothing was created: the table keeps taking the application's writes.
  connection.Execute("INSERT INTO bad (id) VALUES (1)");
  odbc::Statement statement(connection);
  statement.ExecuteDirect("SELECT count(*) FROM sqlite_master WHERE name LIKE 'bad_CT%'");
  odbc::RowBatch batch;
  ASSERT_TRUE(statement.FetchBatch(batch, 1));
  EXPECT_EQ(batch.Get(0, 0), "0");

  // A table whose name the replica cannot hold: refused, unless consumer.table_map maps it.
  const std::string long_table(64, 't');
  connection.Execute("CREATE TABLE " + long_table + " (id INTEGER PRIMARY KEY)");
  WriteText(config,
            ProducerConfig("127.0.0.1:1", source.ConnectionString(),
                           "    - name: main." + long_table + "\n      change_table: lt_CT\n"));
  const auto [refused, refusal] =
      RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl2.log"));
  EXPECT_EQ(refused, 1);
  EXPECT_NE(refusal.find("is 64 bytes, over the replica's limit of 63: map it to a shorter name in "
                         "consumer.table_map"),
            std::string::npos)
      << refusal;
  WriteText(config,
            ProducerConfig("127.0.0.1:1", source.ConnectionString(),
                           "    - name: main." + long_table + "\n      change_table: lt_CT\n") +
                "consumer:\n  table_map: {main." + long_table + ": short_name}\n");
  EXPECT_EQ(RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl3.log")).first, 0)
      << Tail(dir.File("ddl3.log"));
}

}  // namespace
}  // namespace cdc::testing
