#include "producer/dialect.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/kafka/settings.h"
#include "producer/checkpoint.h"
#include "producer/column_reads.h"
#include "producer/settings.h"

namespace cdc::producer {
namespace {

event::TableMeta TwoKeyTable() {
  event::TableMeta table;
  table.schema = "SHOP";
  table.table = "ORDER_LINES";
  table.columns.resize(3);
  table.columns[0].name = "ORDER_ID";
  table.columns[1].name = "LINE_NO";
  table.columns[2].name = "AMOUNT";
  table.key = {0, 1};
  return table;
}

TEST(Dialect, DetectsDialectFromDbmsName) {
  EXPECT_EQ(DialectFromDbmsName("Oracle"), SqlDialect::kOracle);
  EXPECT_EQ(DialectFromDbmsName("PostgreSQL"), SqlDialect::kPostgres);
  EXPECT_EQ(DialectFromDbmsName("SQLite"), SqlDialect::kSqlite);
  EXPECT_THROW(DialectFromDbmsName("Microsoft SQL Server"), FatalError);
}

// Oracle's session answers in whatever the client's NLS_LANG and the database's defaults say
// (decimal comma, local time zone, linguistic sorting): every setting values depend on is pinned.
TEST(Dialect, OracleSessionsArePinnedToLocaleFreeSettings) {
  const std::vector<std::string> oracle = SessionSetup(SqlDialect::kOracle);
  ASSERT_EQ(oracle.size(), 1u);  // one round trip per connection
  for (const char* setting : {"ALTER SESSION SET ", "NLS_NUMERIC_CHARACTERS = '.,'",
                              "NLS_DATE_FORMAT = 'YYYY-MM-DD HH24:MI:SS'",
                              "NLS_TIMESTAMP_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF9'",
                              "NLS_TIMESTAMP_TZ_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF9 TZH:TZM'",
                              "TIME_ZONE = 'UTC'", "NLS_SORT = BINARY", "NLS_COMP = BINARY"}) {
    EXPECT_NE(oracle[0].find(setting), std::string::npos) << setting;
  }
  EXPECT_EQ(TextProbeQuery(SqlDialect::kOracle), "SELECT UNISTR('\\00E9\\20AC\\4E2D') FROM DUAL");
  EXPECT_TRUE(SessionSetup(SqlDialect::kSqlite).empty());
  EXPECT_EQ(SessionSetup(SqlDialect::kPostgres).front(), "SET TIME ZONE 'UTC'");
}

TEST(Dialect, TableNames) {
  EXPECT_EQ(TableName::Parse("SHOP.ORDERS").Quoted(SqlDialect::kOracle), "\"SHOP\".\"ORDERS\"");
  EXPECT_EQ(TableName::Parse("ORDERS").Quoted(SqlDialect::kSqlite), "\"ORDERS\"");
  EXPECT_THROW(TableName::Parse("a.b.c"), PermanentError);
  EXPECT_THROW(TableName::Parse(".x"), PermanentError);
}

TEST(Dialect, PollQueriesUseEachDialectsRowLimitAndParameters) {
  const TableName ct{"SHOP", "ORDERS_CT"};
  EXPECT_EQ(NewChangesQuery(SqlDialect::kOracle, ct, "cdc_read.*", 5000),
            "SELECT cdc_read.* FROM \"SHOP\".\"ORDERS_CT\" cdc_read WHERE \"CDC_SEQ\" > ? ORDER "
            "BY \"CDC_SEQ\" FETCH FIRST 5000 ROWS ONLY");
  EXPECT_EQ(
      NewChangesQuery(SqlDialect::kPostgres, ct, "cdc_read.*, CAST(cdc_read.\"T\" AS text)", 10),
      "SELECT cdc_read.*, CAST(cdc_read.\"T\" AS text) FROM \"SHOP\".\"ORDERS_CT\" "
      "cdc_read WHERE \"CDC_SEQ\" > ? ORDER BY \"CDC_SEQ\" LIMIT 10");
  EXPECT_EQ(GapChangesQuery(SqlDialect::kSqlite, ct, "cdc_read.*", 2, 7),
            "SELECT cdc_read.* FROM \"SHOP\".\"ORDERS_CT\" cdc_read WHERE (\"CDC_SEQ\" BETWEEN ? "
            "AND ?) OR (\"CDC_SEQ\" BETWEEN ? AND ?) ORDER BY \"CDC_SEQ\" LIMIT 7");
}

TEST(Dialect, NewRowsAndGapsAreReadInOneStatement) {
  const TableName ct{"", "T_CT"};
  EXPECT_EQ(NewAndGapChangesQuery(SqlDialect::kOracle, ct, "cdc_read.*", 2, 50),
            "SELECT cdc_read.* FROM (SELECT * FROM (SELECT * FROM \"T_CT\" WHERE \"CDC_SEQ\" > ? "
            "ORDER BY \"CDC_SEQ\" FETCH FIRST 50 ROWS ONLY) cdc_new UNION ALL SELECT * FROM "
            "\"T_CT\" WHERE (\"CDC_SEQ\" BETWEEN ? AND ?) OR (\"CDC_SEQ\" BETWEEN ? AND ?)) "
            "cdc_read ORDER BY \"CDC_SEQ\" FETCH FIRST 50 ROWS ONLY");
}

// Where a driver's own text is not exact, the value is read through an expression.
TEST(Dialect, ExactReadExpressions) {
  event::ColumnMeta column;
  column.type = event::ColumnType::kTimestampTz;
  EXPECT_EQ(ExactReadExpression(SqlDialect::kPostgres, column, "x", ReadFrom::kChangeTable),
            "CAST(x AS text)");
  column.type = event::ColumnType::kDecimalText;  // money in the table, numeric in its change table
  EXPECT_EQ(ExactReadExpression(SqlDialect::kPostgres, column, "x", ReadFrom::kTable),
            "CAST(x AS numeric)");
  EXPECT_EQ(ExactReadExpression(SqlDialect::kPostgres, column, "x", ReadFrom::kChangeTable),
            std::nullopt);
  column.type = event::ColumnType::kFloat64;
  const auto sqlite = ExactReadExpression(SqlDialect::kSqlite, column, "x", ReadFrom::kTable);
  ASSERT_TRUE(sqlite);
  EXPECT_EQ(sqlite->rfind("CASE WHEN typeof(x) <> 'real' THEN x WHEN abs(x) < 1e96 THEN "
                          "printf('%!.17g', x)",
                          0),
            0u)
      << *sqlite;
  EXPECT_EQ(ExactReadExpression(SqlDialect::kPostgres, column, "x", ReadFrom::kTable),
            std::nullopt);
  EXPECT_EQ(ExactReadExpression(SqlDialect::kOracle, column, "x", ReadFrom::kTable), std::nullopt);
  column.type = event::ColumnType::kBytes;  // SQLite: text or a number in a BLOB column
  EXPECT_EQ(ExactReadExpression(SqlDialect::kSqlite, column, "x", ReadFrom::kChangeTable),
            "CAST(x AS BLOB)");
}

// An exact read takes its column's place in an explicit list, or follows cdc_read.* where the
// change table is read with SELECT * (an added column must show up).
TEST(Dialect, ColumnReadsPlaceExactReads) {
  event::TableMeta table;
  table.columns.resize(3);
  table.columns[0].name = "id";
  table.columns[0].type = event::ColumnType::kInt64;
  table.columns[1].name = "at";
  table.columns[1].type = event::ColumnType::kTimestamp;
  table.columns[2].name = "v";
  table.columns[2].type = event::ColumnType::kFloat64;
  const ColumnReads pg(SqlDialect::kPostgres, table, {kSeqColumn, kOpColumn},
                       ReadFrom::kChangeTable);
  EXPECT_EQ(pg.select_list(), "cdc_read.*, CAST(cdc_read.\"at\" AS text)");
  EXPECT_EQ(pg.result_columns(), 6u);
  const ColumnReads snapshot(SqlDialect::kPostgres, table, {}, ReadFrom::kTable);
  EXPECT_EQ(snapshot.select_list(),
            "cdc_read.\"id\", CAST(cdc_read.\"at\" AS text) AS \"at\", cdc_read.\"v\"");
  EXPECT_EQ(snapshot.result_columns(), 3u);
  const ColumnReads sqlite(SqlDialect::kSqlite, table, {kSeqColumn}, ReadFrom::kChangeTable);
  EXPECT_EQ(sqlite.select_list().rfind("cdc_read.\"CDC_SEQ\", cdc_read.\"id\", cdc_read.\"at\", "
                                       "CASE WHEN typeof(cdc_read.\"v\")",
                                       0),
            0u)
      << sqlite.select_list();
  EXPECT_EQ(sqlite.result_columns(), 4u);
}

// The PostgreSQL form runs against a real server in PgSourceTest; Oracle's (a test double for
// what cannot run here) is pinned to the views it names, which the deploy docs grant.
TEST(Dialect, TransactionHorizonQueries) {
  EXPECT_EQ(TransactionHorizonQuery(SqlDialect::kPostgres, true),
            "SELECT 'n', txid_current() UNION ALL SELECT 'c', "
            "txid_snapshot_xmax(txid_current_snapshot()) UNION ALL SELECT 'o', "
            "txid_snapshot_xip(txid_current_snapshot())");
  EXPECT_EQ(TransactionHorizonQuery(SqlDialect::kPostgres, false),
            "SELECT 'c', txid_snapshot_xmax(txid_current_snapshot()) UNION ALL SELECT 'o', "
            "txid_snapshot_xip(txid_current_snapshot())");
  EXPECT_EQ(TransactionHorizonQuery(SqlDialect::kOracle, false),
            "SELECT 'n', CURRENT_SCN + 1 FROM V$DATABASE UNION ALL SELECT 'o', START_SCN FROM "
            "GV$TRANSACTION");
  EXPECT_EQ(TransactionHorizonQuery(SqlDialect::kSqlite, true), std::nullopt);
}

TEST(Dialect, HorizonRowsAndPermissionErrors) {
  const TxHorizon pg =
      ParseHorizon(SqlDialect::kPostgres, {{"c", 101}, {"o", 99}, {"o", 95}, {"n", 110}});
  EXPECT_EQ(pg.next, 110);
  EXPECT_EQ(pg.complete_below, 101);
  EXPECT_EQ(pg.open, (std::vector<int64_t>{95, 99}));
  // Oracle: every open transaction is listed, whatever its START_SCN: complete up to the mark.
  const TxHorizon oracle = ParseHorizon(SqlDialect::kOracle, {{"n", 5000}, {"o", 4990}});
  EXPECT_EQ(oracle.complete_below, 5000);
  EXPECT_THROW(ParseHorizon(SqlDialect::kPostgres, {{"o", 1}}), PermanentError);
  EXPECT_THROW(ParseHorizon(SqlDialect::kPostgres, {{"c", 1}, {"x", 1}}), PermanentError);
  EXPECT_TRUE(HorizonNotPermitted(SqlDialect::kPostgres, "42501", "permission denied"));
  EXPECT_FALSE(HorizonNotPermitted(SqlDialect::kPostgres, "08006", "connection lost"));
  EXPECT_TRUE(HorizonNotPermitted(SqlDialect::kOracle, "42S02",
                                  "[Oracle][ODBC][Ora]ORA-00942: table or view does not exist"));
  EXPECT_TRUE(HorizonNotPermitted(SqlDialect::kOracle, "HY000", "ORA-01031: insufficient"));
  EXPECT_FALSE(HorizonNotPermitted(SqlDialect::kOracle, "HY000", "ORA-03113: end-of-file"));
}

TEST(Dialect, SnapshotKeysetWithoutRowValueComparison) {
  const std::string sql = SnapshotChunkQuery(SqlDialect::kOracle, TableName{"SHOP", "ORDER_LINES"},
                                             TwoKeyTable(), "cdc_read.*", true, 100);
  EXPECT_EQ(sql,
            "SELECT cdc_read.* FROM \"SHOP\".\"ORDER_LINES\" cdc_read WHERE "
            "(\"ORDER_ID\" > ?) OR (\"ORDER_ID\" = ? AND \"LINE_NO\" > ?) ORDER BY \"ORDER_ID\", "
            "\"LINE_NO\" FETCH FIRST 100 ROWS ONLY");
  EXPECT_EQ(KeysetParameterOrder(2), (std::vector<size_t>{0, 0, 1}));
  EXPECT_EQ(KeysetParameterOrder(3), (std::vector<size_t>{0, 0, 1, 0, 1, 2}));
}

TEST(ProducerSettings, TopicNames) {
  EXPECT_TRUE(kafka::IsValidTopicName("cdc.SHOP.ORDERS"));
  EXPECT_FALSE(kafka::IsValidTopicName("cdc/SHOP"));
  EXPECT_FALSE(kafka::IsValidTopicName(""));
  EXPECT_FALSE(kafka::IsValidTopicName(std::string(250, 'a')));
}

}  // namespace
}  // namespace cdc::producer
