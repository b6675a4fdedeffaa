#include "producer/dialect.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/kafka/settings.h"
#include "producer/checkpoint.h"
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

TEST(Dialect, TableNames) {
  EXPECT_EQ(TableName::Parse("SHOP.ORDERS").Quoted(SqlDialect::kOracle), "\"SHOP\".\"ORDERS\"");
  EXPECT_EQ(TableName::Parse("ORDERS").Quoted(SqlDialect::kSqlite), "\"ORDERS\"");
  EXPECT_THROW(TableName::Parse("a.b.c"), PermanentError);
  EXPECT_THROW(TableName::Parse(".x"), PermanentError);
}

TEST(Dialect, PollQueriesUseEachDialectsRowLimitAndParameters) {
  const TableName ct{"SHOP", "ORDERS_CT"};
  EXPECT_EQ(NewChangesQuery(SqlDialect::kOracle, ct, 5000),
            "SELECT * FROM \"SHOP\".\"ORDERS_CT\" WHERE \"CDC_SEQ\" > ? ORDER BY \"CDC_SEQ\" "
            "FETCH FIRST 5000 ROWS ONLY");
  EXPECT_EQ(NewChangesQuery(SqlDialect::kPostgres, ct, 10),
            "SELECT * FROM \"SHOP\".\"ORDERS_CT\" WHERE \"CDC_SEQ\" > ? ORDER BY \"CDC_SEQ\" "
            "LIMIT 10");
  EXPECT_EQ(GapChangesQuery(SqlDialect::kSqlite, ct, 2, 7),
            "SELECT * FROM \"SHOP\".\"ORDERS_CT\" WHERE (\"CDC_SEQ\" BETWEEN ? AND ?) OR "
            "(\"CDC_SEQ\" BETWEEN ? AND ?) ORDER BY \"CDC_SEQ\" LIMIT 7");
}

// The PostgreSQL form runs against a real server in PgSourceTest; Oracle's (a test double for
// what cannot run here) is pinned to the views it names, which the deploy docs grant.
TEST(Dialect, TransactionHorizonQueries) {
  EXPECT_EQ(TransactionHorizonQuery(SqlDialect::kPostgres),
            "SELECT txid_snapshot_xmin(s), txid_snapshot_xmax(s)"
            " FROM (SELECT txid_current_snapshot() AS s) h");
  EXPECT_EQ(TransactionHorizonQuery(SqlDialect::kOracle),
            "SELECT COALESCE((SELECT MIN(START_SCN) FROM GV$TRANSACTION), CURRENT_SCN + 1),"
            " CURRENT_SCN + 1 FROM V$DATABASE");
  EXPECT_EQ(TransactionHorizonQuery(SqlDialect::kSqlite), std::nullopt);
}

TEST(Dialect, SnapshotKeysetWithoutRowValueComparison) {
  const std::string sql = SnapshotChunkQuery(SqlDialect::kOracle, TableName{"SHOP", "ORDER_LINES"},
                                             TwoKeyTable(), true, 100);
  EXPECT_EQ(sql,
            "SELECT \"ORDER_ID\", \"LINE_NO\", \"AMOUNT\" FROM \"SHOP\".\"ORDER_LINES\" WHERE "
            "(\"ORDER_ID\" > ?) OR (\"ORDER_ID\" = ? AND \"LINE_NO\" > ?) ORDER BY \"ORDER_ID\", "
            "\"LINE_NO\" FETCH FIRST 100 ROWS ONLY");
  EXPECT_EQ(KeysetParameterOrder(2), (std::vector<size_t>{0, 0, 1}));
  EXPECT_EQ(KeysetParameterOrder(3), (std::vector<size_t>{0, 0, 1, 0, 1, 2}));
}

TEST(Checkpoint, RoundTripsThroughJson) {
  TablePosition position;
  position.watermark = 42;
  position.snapshot = {SnapshotPosition::State::kRunning, 17, KeysetPosition{"7", std::nullopt}, 5};
  const std::string json = EncodeCheckpoint("p", "SHOP.ORDERS", position, "2026-11-21T00:00:00Z");
  const std::optional<TablePosition> decoded = DecodeCheckpoint(json);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, position);
  EXPECT_FALSE(DecodeCheckpoint("{\"watermark\":\"x\"}"));
  EXPECT_FALSE(DecodeCheckpoint("not json"));
  EXPECT_EQ(CheckpointKey("p", "SHOP.ORDERS"), "p/SHOP.ORDERS");
}

TEST(ProducerSettings, TopicNames) {
  EXPECT_TRUE(kafka::IsValidTopicName("cdc.SHOP.ORDERS"));
  EXPECT_FALSE(kafka::IsValidTopicName("cdc/SHOP"));
  EXPECT_FALSE(kafka::IsValidTopicName(""));
  EXPECT_FALSE(kafka::IsValidTopicName(std::string(250, 'a')));
}

}  // namespace
}  // namespace cdc::producer
