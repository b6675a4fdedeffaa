// Change-table DDL against golden files (Oracle cannot run here: its DDL is reviewed through
// these files). Regenerate with CDC_REGENERATE_GOLDEN=1 after an intended change.
#include "producer/ddl.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace cdc::producer {
namespace {

using event::ColumnMeta;
using event::ColumnType;

ColumnMeta Column(std::string name, ColumnType type, int precision = 0, int scale = 0,
                  int length = 0) {
  ColumnMeta column;
  column.name = std::move(name);
  column.type = type;
  column.precision = precision;
  column.scale = scale;
  column.length = length;
  return column;
}

// ORDER_LINES: composite key, decimals, text, blob, timestamps.
event::TableMeta OrderLines(const std::string& schema) {
  event::TableMeta table;
  table.schema = schema;
  table.table = "ORDER_LINES";
  table.columns = {
      Column("ORDER_ID", ColumnType::kInt64),        Column("LINE_NO", ColumnType::kInt32),
      Column("AMOUNT", ColumnType::kDecimal, 12, 2), Column("NOTE", ColumnType::kString, 0, 0, 200),
      Column("PAYLOAD", ColumnType::kBytes),         Column("CREATED_AT", ColumnType::kTimestamp),
      Column("SHIPPED_AT", ColumnType::kTimestampTz)};
  table.key = {0, 1};
  return table;
}

std::string Golden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(CDC_SOURCE_DIR) + "/tests/unit/producer/golden/" + name;
  if (std::getenv("CDC_REGENERATE_GOLDEN") != nullptr) {
    std::ofstream(path) << actual;
  }
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void ExpectGolden(SqlDialect dialect, const std::string& schema, const std::string& file) {
  const TableName table{schema, "ORDER_LINES"};
  const TableName change_table{schema, "ORDER_LINES_CT"};
  const std::string script =
      DdlScript(dialect, table, ChangeTableDdl(dialect, table, OrderLines(schema), change_table));
  EXPECT_EQ(script, Golden(file, script)) << "regenerate with CDC_REGENERATE_GOLDEN=1";
}

TEST(ChangeTableDdl, OracleMatchesGolden) {
  ExpectGolden(SqlDialect::kOracle, "SHOP", "oracle.sql");
}
TEST(ChangeTableDdl, PostgresMatchesGolden) {
  ExpectGolden(SqlDialect::kPostgres, "shop", "postgres.sql");
}
TEST(ChangeTableDdl, SqliteMatchesGolden) {
  ExpectGolden(SqlDialect::kSqlite, "main", "sqlite.sql");
}

TEST(ChangeTableDdl, OracleTriggerUsesNewOldTransactionIdAndSequence) {
  const TableName table{"SHOP", "ORDER_LINES"};
  const auto statements = ChangeTableDdl(SqlDialect::kOracle, table, OrderLines("SHOP"),
                                         TableName{"SHOP", "ORDER_LINES_CT"});
  ASSERT_EQ(statements.size(), 4u);
  const std::string& trigger = statements[3].sql;
  EXPECT_TRUE(statements[3].block);
  EXPECT_NE(trigger.find("AFTER INSERT OR UPDATE OR DELETE ON \"SHOP\".\"ORDER_LINES\""),
            std::string::npos);
  EXPECT_NE(trigger.find("DBMS_TRANSACTION.LOCAL_TRANSACTION_ID"), std::string::npos);
  EXPECT_NE(trigger.find("SYSTIMESTAMP"), std::string::npos);
  EXPECT_NE(trigger.find(":OLD.\"AMOUNT\""), std::string::npos);
  EXPECT_NE(trigger.find("\"SHOP\".\"ORDER_LINES_CT_SEQ\".NEXTVAL"), std::string::npos);
  EXPECT_NE(statements[2].sql.find("CREATE UNIQUE INDEX"), std::string::npos);
}

TEST(ChangeTableDdl, IdentifiersAreQuotedByTheDialect) {
  event::TableMeta table = OrderLines("shop");
  table.columns[3].name = "we\"ird name";
  const auto statements = ChangeTableDdl(SqlDialect::kPostgres, TableName{"shop", "ORDER_LINES"},
                                         table, TableName{"shop", "ORDER_LINES_CT"});
  EXPECT_NE(statements[0].sql.find("\"we\"\"ird name\""), std::string::npos);
  // Oracle cannot represent a double quote inside an identifier: refused, not mangled.
  EXPECT_THROW(ChangeTableDdl(SqlDialect::kOracle, TableName{"SHOP", "ORDER_LINES"}, table,
                              TableName{"SHOP", "ORDER_LINES_CT"}),
               PermanentError);
}

TEST(ChangeTableDdl, ExistingChangeTableIsEvolvedNotRecreated) {
  const event::TableMeta table = OrderLines("SHOP");
  // The change table lacks the last two columns of the (grown) source table.
  const std::vector<std::string> existing = {"CDC_SEQ", "CDC_OP", "CDC_TS", "CDC_TXID", "ORDER_ID",
                                             "LINE_NO", "AMOUNT", "NOTE",   "PAYLOAD"};
  const TableName name{"SHOP", "ORDER_LINES"};
  const TableName change_table{"SHOP", "ORDER_LINES_CT"};
  const auto oracle = ChangeTableDdl(SqlDialect::kOracle, name, table, change_table, existing);
  ASSERT_EQ(oracle.size(), 3u);
  EXPECT_EQ(oracle[0].sql,
            "ALTER TABLE \"SHOP\".\"ORDER_LINES_CT\" ADD (\"CREATED_AT\" TIMESTAMP(6))");
  EXPECT_EQ(oracle[1].sql,
            "ALTER TABLE \"SHOP\".\"ORDER_LINES_CT\" ADD (\"SHIPPED_AT\" "
            "TIMESTAMP(6) WITH TIME ZONE)");
  EXPECT_NE(oracle[2].sql.find("CREATE OR REPLACE TRIGGER"), std::string::npos);
  EXPECT_NE(oracle[2].sql.find(":NEW.\"SHIPPED_AT\""), std::string::npos);

  const auto sqlite = ChangeTableDdl(SqlDialect::kSqlite, TableName{"main", "ORDER_LINES"}, table,
                                     TableName{"main", "ORDER_LINES_CT"}, existing);
  ASSERT_EQ(sqlite.size(), 8u);  // 2 ALTER, 3 DROP TRIGGER, 3 CREATE TRIGGER
  EXPECT_EQ(sqlite[1].sql,
            "ALTER TABLE \"main\".\"ORDER_LINES_CT\" ADD COLUMN \"SHIPPED_AT\" TIMESTAMPTZ");
  for (const DdlStatement& statement : sqlite) {
    EXPECT_EQ(statement.sql.find("CREATE TABLE"), std::string::npos);
  }
  // Nothing missing: only the triggers are replaced.
  std::vector<std::string> complete = existing;
  complete.insert(complete.end(), {"CREATED_AT", "SHIPPED_AT"});
  const auto postgres = ChangeTableDdl(SqlDialect::kPostgres, TableName{"shop", "ORDER_LINES"},
                                       table, TableName{"shop", "ORDER_LINES_CT"}, complete);
  ASSERT_EQ(postgres.size(), 3u);
  EXPECT_NE(postgres[0].sql.find("CREATE OR REPLACE FUNCTION"), std::string::npos);
}

}  // namespace
}  // namespace cdc::producer
