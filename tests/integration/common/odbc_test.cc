// Both ODBC drivers for real: SQLite3 and psqlODBC (PostgreSQL Unicode): connect, bound-parameter
// insert, bulk fetch in row arrays.
#include "common/odbc/odbc.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "tests/harness/odbc_sources.h"

namespace cdc::odbc {
namespace {

using ::testing::HasSubstr;

void InsertRows(Connection& connection, int count) {
  connection.SetAutocommit(false);
  Statement insert(connection);
  insert.Prepare("INSERT INTO items (id, name, price, note) VALUES (?, ?, ?, ?)");
  for (int i = 1; i <= count; ++i) {
    insert.ClearParameters();
    insert.BindInt64(1, i);
    insert.BindText(2, "item-" + std::to_string(i));
    insert.BindText(3, std::to_string(i) + ".25");
    insert.BindText(
        4, i % 10 == 0 ? std::nullopt : std::optional<std::string>("n" + std::to_string(i)));
    insert.Execute();
    EXPECT_EQ(insert.RowCount(), 1);
  }
  connection.Commit();
  connection.SetAutocommit(true);
}

// Fetches everything in batches of `batch_rows` and checks every value.
void ExpectAllRows(Connection& connection, int count, size_t batch_rows) {
  Statement select(connection);
  select.ExecuteDirect("SELECT id, name, price, note FROM items ORDER BY id");
  const std::vector<ColumnInfo> columns = select.Columns();
  ASSERT_EQ(columns.size(), 4u);
  RowBatch batch;
  int seen = 0;
  int batches = 0;
  int first_batch_rows = 0;
  while (select.FetchBatch(batch, batch_rows)) {
    ++batches;
    if (first_batch_rows == 0) first_batch_rows = static_cast<int>(batch.rows());
    EXPECT_LE(batch.rows(), batch_rows);
    for (size_t r = 0; r < batch.rows(); ++r) {
      ++seen;
      ASSERT_EQ(*batch.Get(r, 0), std::to_string(seen));
      ASSERT_EQ(*batch.Get(r, 1), "item-" + std::to_string(seen));
      ASSERT_EQ(*batch.Get(r, 2), std::to_string(seen) + ".25");
      if (seen % 10 == 0) {
        ASSERT_FALSE(batch.Get(r, 3).has_value());
      } else {
        ASSERT_EQ(*batch.Get(r, 3), "n" + std::to_string(seen));
      }
    }
  }
  EXPECT_EQ(seen, count);
  // Every SQLFetch fills the row array (batch_rows, or fewer when the bound buffers would pass
  // Statement::kMaxBatchBytes): only the last batch may be short.
  ASSERT_GT(first_batch_rows, 0);
  EXPECT_LE(first_batch_rows, static_cast<int>(batch_rows));
  EXPECT_EQ(batches, (count + first_batch_rows - 1) / first_batch_rows);
}

// Inserts `value` into t(v) as a bound parameter and reads it back through a bulk fetch.
std::string RoundTripText(Connection& connection, const std::string& value) {
  Statement insert(connection);
  insert.Prepare("INSERT INTO t (v) VALUES (?)");
  insert.BindText(1, value);
  insert.Execute();
  Statement select(connection);
  select.ExecuteDirect("SELECT v FROM t");
  RowBatch batch;
  EXPECT_TRUE(select.FetchBatch(batch, 10));
  return batch.rows() == 1 ? std::string(batch.Get(0, 0).value_or("<null>")) : "<no row>";
}

TEST(OdbcSqlite, ConnectInsertWithBoundParametersAndBulkFetch) {
  cdc::testing::SqliteSource source;
  Environment environment;
  Connection connection(environment, source.ConnectionString());
  EXPECT_EQ(connection.DbmsName(), "SQLite");
  connection.Execute(
      "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price TEXT, note TEXT)");
  InsertRows(connection, 5000);
  ExpectAllRows(connection, 5000, 1000);
}

TEST(OdbcPostgres, ConnectInsertWithBoundParametersAndBulkFetch) {
  cdc::testing::PgCluster cluster;
  cdc::testing::PostgresOdbcSource source(cluster, "source");
  Environment environment;
  Connection connection(environment, source.ConnectionString());
  EXPECT_EQ(connection.DbmsName(), "PostgreSQL");
  connection.Execute(
      "CREATE TABLE items (id bigint PRIMARY KEY, name varchar(40) NOT NULL, price numeric(12,2), "
      "note text)");
  InsertRows(connection, 5000);
  ExpectAllRows(connection, 5000, 1000);
  Statement describe(connection);
  describe.ExecuteDirect("SELECT price FROM items WHERE id = 1");
  const std::vector<ColumnInfo> columns = describe.Columns();
  EXPECT_EQ(columns[0].sql_type, SQL_NUMERIC);
  EXPECT_EQ(columns[0].size, 12u);
  EXPECT_EQ(columns[0].decimal_digits, 2);
}

TEST(OdbcSqlite, ParametersAreNeverInterpolated) {
  cdc::testing::SqliteSource source;
  Environment environment;
  Connection connection(environment, source.ConnectionString());
  connection.Execute("CREATE TABLE t (v TEXT)");
  const std::string hostile = "x'); DROP TABLE t; --";
  EXPECT_EQ(RoundTripText(connection, hostile), hostile);
}

TEST(OdbcPostgres, UnicodeRoundTrip) {
  cdc::testing::PgCluster cluster;
  cdc::testing::PostgresOdbcSource source(cluster, "source");
  Environment environment;
  Connection connection(environment, source.ConnectionString());
  connection.Execute("CREATE TABLE t (v text)");
  const std::string text = "größe 日本 ✓";
  EXPECT_EQ(RoundTripText(connection, text), text);
  EXPECT_EQ(cluster.Psql("source", "SELECT v FROM t"), text);  // stored as UTF-8, not mangled
}

TEST(Odbc, ErrorsCarrySqlStateClassAndRedactedConnectionString) {
  Environment environment;
  try {
    Connection connection(environment, "Driver=NoSuchDriver;Uid=u;Pwd=hunter2;");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.retry_class(), RetryClass::kFatal) << e.what();
    EXPECT_THAT(e.code(), ::testing::StartsWith("IM"));
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
    EXPECT_THAT(e.what(), HasSubstr("Pwd=***"));
  }
  cdc::testing::SqliteSource source;
  Connection connection(environment, source.ConnectionString());
  try {
    connection.Execute("SELECT * FROM no_such_table");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.retry_class(), RetryClass::kPermanent) << e.what();
  }
}

TEST(Odbc, PostgresConnectionRefusedIsTransient) {
  const uint16_t port = cdc::testing::FreePort();  // nothing listens there
  Environment environment;
  try {
    Connection connection(environment, "Driver=PostgreSQL Unicode;Server=127.0.0.1;Port=" +
                                           std::to_string(port) + ";Database=x;Uid=u;Pwd=pw;");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.retry_class(), RetryClass::kTransient) << e.code() << " " << e.what();
    EXPECT_EQ(std::string(e.what()).find("Pwd=pw"), std::string::npos);
  }
}

}  // namespace
}  // namespace cdc::odbc
