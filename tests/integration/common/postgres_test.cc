// The harness's PostgreSQL 15 cluster is real: connect, create, query, stop, start again.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "common/error.h"
#include "common/pg/connection.h"
#include "tests/harness/pg_cluster.h"

namespace cdc::testing {
namespace {

TEST(PgCluster, ConnectCreateQueryStop) {
  PgCluster cluster;
  {
    pqxx::connection connection(cluster.Url());
    pqxx::work tx(connection);
    EXPECT_EQ(tx.exec1("SHOW server_version_num")[0].as<int>() / 10000, 15);
    EXPECT_EQ(tx.exec1("SHOW fsync")[0].as<std::string>(), "off");
    tx.exec0("CREATE TABLE orders (id bigint PRIMARY KEY, note text)");
    tx.exec_params0("INSERT INTO orders VALUES ($1, $2), ($3, $4)", 1, "first", 2, "second");
    tx.commit();
  }
  {
    pqxx::connection connection(cluster.Url());
    pqxx::read_transaction tx(connection);
    const pqxx::result rows = tx.exec("SELECT id, note FROM orders ORDER BY id");
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[1][1].as<std::string>(), "second");
  }
  cluster.Stop();
  EXPECT_THROW(pqxx::connection{cluster.Url()}, pqxx::broken_connection);
  cluster.Start();
  pqxx::connection again(cluster.Url());
  pqxx::read_transaction tx(again);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM orders")[0].as<int>(), 2);  // data survived restart
}

TEST(PgCluster, ServerErrorsCarryTheirSqlStateClass) {
  PgCluster cluster;
  pqxx::connection connection(cluster.Url());
  pqxx::work tx(connection);
  tx.exec0("CREATE TABLE t (id int PRIMARY KEY)");
  tx.exec0("INSERT INTO t VALUES (1)");
  try {
    tx.exec0("INSERT INTO t VALUES (1)");
    FAIL();
  } catch (const pqxx::sql_error& e) {
    EXPECT_EQ(e.sqlstate(), "23505");
    EXPECT_EQ(ClassifySqlState(e.sqlstate()), RetryClass::kPermanent);
  }
}

TEST(PgCluster, KilledBackendIsATransientError) {
  PgCluster cluster;
  pqxx::connection victim(cluster.Url());
  const int pid = victim.backendpid();
  cluster.Psql("postgres", "SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
  try {
    pqxx::work tx(victim);
    tx.exec0("SELECT 1");
    FAIL() << "query on a terminated backend succeeded";
  } catch (const pqxx::broken_connection&) {
    SUCCEED();  // connection loss: the transient class by definition
  } catch (const pqxx::sql_error& e) {
    EXPECT_EQ(ClassifySqlState(e.sqlstate()), RetryClass::kTransient) << e.sqlstate();
  }
}

TEST(PgCluster, TwoClustersRunSideBySide) {
  PgCluster a;
  PgCluster b;
  EXPECT_NE(a.port(), b.port());
  EXPECT_EQ(a.Psql("postgres", "SELECT 1"), "1");
  EXPECT_EQ(b.Psql("postgres", "SELECT 2"), "2");
}

TEST(PgArrayLiteral, PostgreSQLReadsBackEveryElement) {
  PgCluster cluster;
  pg::Connection connection(cluster.Url(), "array-literal-test");
  const std::vector<std::string> values = {"plain",    "",          "with,comma",
                                           "{braces}", "quote\"d",  "back\\slash",
                                           "NULL",     "  spaced ", "ünïcødé"};
  const pg::Result rows =
      connection.Exec("SELECT v FROM unnest($1::text[]) WITH ORDINALITY AS u(v, n) ORDER BY n",
                      {pg::ArrayLiteral(values)});
  ASSERT_EQ(rows.rows(), static_cast<int>(values.size()));
  for (int i = 0; i < rows.rows(); ++i) {
    EXPECT_FALSE(rows.IsNull(i, 0)) << i;  // "NULL" quoted is the text NULL
    EXPECT_EQ(rows.Get(i, 0), values[static_cast<size_t>(i)]) << i;
  }
  EXPECT_EQ(connection.Exec("SELECT cardinality($1::text[])", {pg::ArrayLiteral({})}).GetInt(0, 0),
            0);
}

}  // namespace
}  // namespace cdc::testing
